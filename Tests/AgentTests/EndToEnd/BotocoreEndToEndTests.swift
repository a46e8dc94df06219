import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// A real AWS SDK nobody here wrote judges the metadata endpoint: Debian's python3-botocore, in
/// a Debian image (`Tests/images.sh`), inside a task's container on a real master and agent.
/// botocore runs as it would on EC2: IMDSv2 first, its own region lookup, its own credentials
/// chain. Only where the agent cannot put its 169.254.169.254 rule in place (no root or no
/// iptables) does the script point botocore at `FULLER_METADATA_URL`, as a user would.
@Suite(.serialized) struct BotocoreEndToEndTests {
    static let image = "fuller-test/debian-botocore:1"

    /// Prints one JSON line: what botocore found. Each lookup is botocore's public way, except
    /// the identity document, which botocore reads for no public API: its IMDS fetcher does it.
    static let script = #"""
        import json, os, urllib.error, urllib.request
        url = os.environ["FULLER_METADATA_URL"]
        if url != "http://169.254.169.254":
            os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url
        import botocore, botocore.session
        from botocore.utils import IMDSRegionProvider, InstanceMetadataFetcher
        session = botocore.session.get_session()
        out = {"botocore": botocore.__version__, "region": IMDSRegionProvider(session).provide()}
        credentials = session.get_credentials()
        out["credentials"] = credentials and {"method": credentials.method, "accessKeyId": credentials.access_key,
                                              "token": credentials.token}
        fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=2,
                                          config={"ec2_metadata_service_endpoint": session.get_config_variable("ec2_metadata_service_endpoint")})
        token = fetcher._fetch_metadata_token()
        out["tokenIssued"] = token is not None
        out["document"] = json.loads(fetcher._get_request("latest/dynamic/instance-identity/document", fetcher._default_retry, token).text)
        def status(path):
            request = urllib.request.Request(fetcher.get_base_url() + path, headers={"X-aws-ec2-metadata-token": token})
            try:
                return urllib.request.urlopen(request, timeout=5).status
            except urllib.error.HTTPError as error:
                return error.code
        out["status"] = {path: status("latest/meta-data/" + path) for path in ["placement/availability-zone", "placement/region"]}
        print(json.dumps(out))
        """#

    /// A service whose container runs `sleep` in the Debian image and must use IMDSv2 tokens, so
    /// botocore's answers can only have come through its token flow.
    static let job = #"{"name":"botocore","owner":"e2e@test","type":"service","container":{"image":"\#(image)","#
        + #""command":["sleep","3600"],"resources":{"cpu":0.1,"memoryMB":256},"metadata":{"requireTokens":true}},"#
        + #""service":{"capacity":{"min":0,"desired":1,"max":1}}}"#

    @Test(.timeLimit(.minutes(3)))
    func botocoreFindsRegionIdentityAndCredentials() async throws {
        guard let docker = await DockerTestEnvironment.client(), try await Self.haveImage(docker) else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let provider = try Self.writeProvider(in: directory.path)
        let arguments = try await Self.endpointArguments(docker) + ["--zone", "test-1a", "--machine-type", "m.test",
                                                                     "--credentials-command", provider]
        try await EndToEndCluster.run(docker: docker, agentArguments: arguments) { cluster in
            let (task, found) = try await Self.runScript(cluster)
            #expect(found["region"]?.stringValue == "test-1", "\(found)")
            #expect(found["tokenIssued"] == .bool(true), "\(found)")
            let document = found["document"]
            #expect(document?["instanceId"]?.stringValue == task.id, "\(found)")
            #expect(document?["availabilityZone"]?.stringValue == "test-1a" && document?["region"]?.stringValue == "test-1")
            #expect(document?["instanceType"]?.stringValue == "m.test", "\(found)")
            let credentials = found["credentials"]
            #expect(credentials?["method"]?.stringValue == "iam-role", "\(found)")
            #expect(credentials?["accessKeyId"]?.stringValue == "AKIA-\(task.id)", "\(found)")
            #expect(credentials?["token"]?.stringValue == "token-\(task.id)", "\(found)")
        }
    }

    /// An agent without `--zone` has no region to give: botocore finds none (`None`, as off
    /// EC2) rather than an empty one, the placement paths are 404, and without a credentials
    /// provider botocore's chain ends with no credentials instead of an error.
    @Test(.timeLimit(.minutes(3)))
    func withoutAZoneBotocoreFindsNoRegion() async throws {
        guard let docker = await DockerTestEnvironment.client(), try await Self.haveImage(docker) else { return }
        try await EndToEndCluster.run(docker: docker, agentArguments: try await Self.endpointArguments(docker)) { cluster in
            let (task, found) = try await Self.runScript(cluster)
            #expect(found["region"] == .null, "\(found)")
            #expect(found["status"]?["placement/availability-zone"] == .int(404), "\(found)")
            #expect(found["status"]?["placement/region"] == .int(404), "\(found)")
            #expect(found["credentials"] == .null, "\(found)")
            let document = found["document"]
            #expect(document?["instanceId"]?.stringValue == task.id, "\(found)")
            #expect(document?["availabilityZone"] == nil && document?["region"] == nil, "\(found)")
        }
    }

    /// Asks for the caller's instance id with a token, with Python's standard library only.
    static let probe = #"""
        import os, urllib.request
        url = os.environ["FULLER_METADATA_URL"]
        put = urllib.request.Request(url + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        token = urllib.request.urlopen(put, timeout=5).read().decode()
        get = urllib.request.Request(url + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})
        print(urllib.request.urlopen(get, timeout=5).read().decode())
        """#

    /// Runs the script in the job's container once the endpoint knows that container; the task
    /// and the script's JSON line.
    static func runScript(_ cluster: EndToEndCluster) async throws -> (TaskView, JSONValue) {
        let jobId = try await cluster.submit(job)
        let task = try await cluster.wait("a task of \(jobId) Started") {
            try await cluster.tasks(jobId).first { $0.state == "Started" && $0.containerId != nil }
        }
        let shell = ContainerShell(containerId: task.containerId!)
        // The agent learns the container's address from the inspect that follows its start.
        try await cluster.waitUntil("the endpoint knows \(task.id)") {
            try shell.exec(["python3", "-c", probe]).trimmingCharacters(in: .whitespacesAndNewlines) == task.id
        }
        let output = try shell.exec(["python3", "-c", script])
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        do {
            return (task, try JSONParser.parse(line))
        } catch {
            throw TestFailure("the script printed no JSON: \(output.suffix(3_000))")
        }
    }

    /// The agent's endpoint: with the 169.254.169.254 rule where it can be put in place (root
    /// and iptables), else on the bridge's gateway without it.
    static func endpointArguments(_ docker: DockerClient) async throws -> [String] {
        if getuid() == 0, MetadataDNAT.findIPTables() != nil { return ["--metadata", "bridge:0"] }
        print("⚠️  no root or no iptables: botocore is pointed at FULLER_METADATA_URL instead of 169.254.169.254")
        guard let gateway = try await docker.bridgeAddress()?.address else { throw TestFailure("the Docker network bridge has no IPv4 address") }
        return ["--metadata", "\(gateway):0", "--no-metadata-dnat"]
    }

    /// A credentials provider that answers each task with keys naming it, valid for two hours.
    static func writeProvider(in directory: String) throws -> String {
        let path = directory + "/credentials-provider"
        let expiration = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 7_200_000)
        let json = #"{"RoleName":"fuller-e2e","AccessKeyId":"AKIA-%s","SecretAccessKey":"secret-%s","Token":"token-%s","#
            + #""Expiration":"\#(expiration.rfc3339)"}\n"#
        try "#!/bin/sh\nprintf '\(json)' \"$1\" \"$1\" \"$1\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// Whether the image is there; without it the test skips (fails in CI), like a missing engine.
    static func haveImage(_ docker: DockerClient, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Bool {
        if try await docker.inspectImage(image) != nil { return true }
        let problem = "the image \(image) is missing; run `bash Tests/images.sh`"
        if DockerTestEnvironment.isCI { Issue.record("\(problem)", sourceLocation: sourceLocation) } else { print("⚠️  SKIPPED: \(problem)") }
        return false
    }
}
