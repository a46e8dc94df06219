import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The metadata endpoint from inside real containers: a real master, a real agent serving on
/// the Docker bridge's gateway, and busybox `nc` in the containers, so every request's source
/// address is a container's own.
@Suite(.serialized) struct MetadataEndToEndTests {
    static let script = ServiceEndToEndTests.script

    /// A service job whose containers must use IMDSv2 tokens.
    static var tokenJob: String {
        Jobs.service(script, desired: 1).replacingOccurrences(
            of: #""memoryMB":64}"#, with: #""memoryMB":64},"metadata":{"requireTokens":true}"#)
    }

    /// One running task of `job`, once the endpoint knows its container.
    struct Running {
        var task: TaskView
        var shell: ContainerShell
        var ip: String
    }

    static func running(_ cluster: EndToEndCluster, _ job: String, probeHost: String = "$h", probePort: String = "$p") async throws -> Running {
        let task = try await cluster.wait("a task of \(job) Started") {
            try await cluster.tasks(job).first { $0.state == "Started" && $0.containerId != nil }
        }
        let shell = ContainerShell(containerId: task.containerId!)
        let ip = try #require(try await cluster.docker.inspectContainer(task.containerId!).ipAddress)
        // The agent learns the container's address from the inspect that follows its start. The
        // probe uses a token, which works whether the job requires one or not.
        try await cluster.waitUntil("the endpoint knows \(task.id)") {
            let token = try shell.http("PUT", "/latest/api/token", headers: ["X-aws-ec2-metadata-token-ttl-seconds: 60"],
                                       host: probeHost, port: probePort)
            guard token.status == 200 else { return false }
            return try shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: \(token.body)"],
                                  host: probeHost, port: probePort).body == task.id
        }
        return Running(task: task, shell: shell, ip: ip)
    }

    static func gatewayArguments(_ docker: DockerClient) async throws -> [String]? {
        // The same choice as the agent's: a first-started engine reports no IPAM gateway.
        guard let gateway = try await docker.bridgeAddress()?.address else {
            Issue.record("the Docker network bridge has no IPv4 gateway, interface address or subnet")
            return nil
        }
        return ["--metadata", "\(gateway):0", "--no-metadata-dnat", "--zone", "test-1a", "--machine-type", "m.test"]
    }

    @Test(.timeLimit(.minutes(3)))
    func everyPathAndTokenRuleFromInsideTwoContainers() async throws {
        guard let docker = await DockerTestEnvironment.client(), let arguments = try await Self.gatewayArguments(docker) else { return }
        try await EndToEndCluster.run(docker: docker, agentArguments: arguments) { cluster in
            let open = try await Self.running(cluster, try await cluster.submit(Jobs.service(Self.script, desired: 1)))
            let strict = try await Self.running(cluster, try await cluster.submit(Self.tokenJob))
            try Self.checkPaths(open)
            try Self.checkTokens(open)
            try Self.checkEnvironment(open, url: arguments[1])

            // A job that requires tokens: v1 is refused, v2 works; each container sees only itself.
            let shell = strict.shell
            #expect(try shell.http("GET", "/latest/meta-data/instance-id").status == 401)
            #expect(try shell.http("HEAD", "/latest/meta-data/instance-id").status == 401)
            let token = try shell.http("PUT", "/latest/api/token", headers: ["X-aws-ec2-metadata-token-ttl-seconds: 300"]).body
            let withToken = try shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: \(token)"])
            #expect(withToken.status == 200 && withToken.body == strict.task.id, "\(withToken)")
            #expect(try shell.http("GET", "/latest/meta-data/local-ipv4", headers: ["X-aws-ec2-metadata-token: \(token)"]).body == strict.ip)
            #expect(strict.task.id != open.task.id && strict.ip != open.ip)
            // A token is bound to the container that asked for it.
            let foreign = try open.shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: \(token)"])
            #expect(foreign.status == 401, "\(foreign)")
            #expect(try open.shell.http("GET", "/latest/meta-data/instance-id").body == open.task.id)
        }
    }

    static func checkPaths(_ r: Running) throws {
        let hostname = try r.shell.run("hostname").trimmingCharacters(in: .whitespacesAndNewlines)
        let expected: [(String, String)] = [
            ("/latest/meta-data/instance-id", r.task.id), ("/latest/meta-data/local-ipv4", r.ip),
            ("/latest/meta-data/local-hostname", hostname), ("/latest/meta-data/instance-type", "m.test"),
            ("/latest/meta-data/placement/availability-zone", "test-1a"), ("/latest/meta-data/placement/region", "test-1"),
            ("/latest/meta-data/placement/", "availability-zone\nregion"), ("/latest/dynamic/instance-identity/", "document"),
        ]
        for (path, body) in expected {
            let answer = try r.shell.http("GET", path)
            #expect(answer.status == 200 && answer.body == body, "\(path): \(answer)")
            #expect(answer.headers["content-type"] == "text/plain", "\(path): \(answer)")
        }
        let listing = try r.shell.http("GET", "/latest/meta-data/").body.split(separator: "\n")
        #expect(listing.contains("instance-id") && listing.contains("placement/") && !listing.contains("iam/"))
        let document = try JSONParser.parse(Array(try r.shell.http("GET", "/latest/dynamic/instance-identity/document").body.utf8))
        #expect(document["instanceId"]?.stringValue == r.task.id && document["privateIp"]?.stringValue == r.ip)
        let fuller = try r.shell.http("GET", "/fuller/v1/task")
        #expect(fuller.headers["content-type"] == "application/json")
        let task = try JSONParser.parse(Array(fuller.body.utf8))
        #expect(task["taskId"]?.stringValue == r.task.id && task["jobId"]?.stringValue == r.task.jobId)
        #expect(task["containerId"]?.stringValue == r.task.containerId && task["ip"]?.stringValue == r.ip)
        let head = try r.shell.http("HEAD", "/latest/meta-data/instance-id")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == String(r.task.id.utf8.count), "\(head)")
        #expect(try r.shell.http("GET", "/latest/meta-data/iam/security-credentials/").status == 404)
        #expect(try r.shell.http("GET", "/latest/meta-data/nothing-here").status == 404)
        #expect(try r.shell.http("POST", "/latest/meta-data/instance-id").status == 405)
    }

    static func checkTokens(_ r: Running) throws {
        let ttl = "X-aws-ec2-metadata-token-ttl-seconds"
        let issued = try r.shell.http("PUT", "/latest/api/token", headers: ["\(ttl): 2"])
        #expect(issued.status == 200 && issued.body.count >= 32 && issued.headers[ttl.lowercased()] == "2", "\(issued)")
        let used = try r.shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: \(issued.body)"])
        #expect(used.status == 200 && used.body == r.task.id && used.headers[ttl.lowercased()] != nil, "\(used)")
        for bad in ["0", "21601", "soon"] {
            #expect(try r.shell.http("PUT", "/latest/api/token", headers: ["\(ttl): \(bad)"]).status == 400)
        }
        #expect(try r.shell.http("PUT", "/latest/api/token").status == 400)
        #expect(try r.shell.http("PUT", "/latest/api/token", headers: ["\(ttl): 60", "X-Forwarded-For: 10.0.0.1"]).status == 403)
        #expect(try r.shell.http("GET", "/latest/api/token").status == 405)
        #expect(try r.shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: forged"]).status == 401)
        // The TTL is enforced.
        Thread.sleep(forTimeInterval: 2.2)
        let expired = try r.shell.http("GET", "/latest/meta-data/instance-id", headers: ["X-aws-ec2-metadata-token: \(issued.body)"])
        #expect(expired.status == 401, "\(expired)")
    }

    static func checkEnvironment(_ r: Running, url: String) throws {
        var env: [String: String] = [:]
        for line in try r.shell.run("env").split(separator: "\n") where line.hasPrefix("FULLER_") {
            let parts = line.split(separator: "=", maxSplits: 1)
            env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        #expect(env["FULLER_TASK_ID"] == r.task.id && env["FULLER_JOB_ID"] == r.task.jobId)
        #expect(env["FULLER_TASK_INDEX"] == String(r.task.index) && env["FULLER_NUM_CPU"] == "0.1" && env["FULLER_NUM_MEM"] == "64")
        let host = String(url.prefix { $0 != ":" })
        #expect(env["FULLER_METADATA_URL"]?.hasPrefix("http://\(host):") == true, "\(env)")
    }

    /// A task that stopped is refused at once: a container that gets its address afterwards
    /// (Docker hands out the lowest free address, so the next container usually does) is not
    /// taken for it.
    @Test(.timeLimit(.minutes(3)))
    func aContainerAtAStoppedTasksAddressIsRefused() async throws {
        guard let docker = await DockerTestEnvironment.client(), let arguments = try await Self.gatewayArguments(docker) else { return }
        let endpoint = arguments[1].split(separator: ":").map(String.init)
        try await EndToEndCluster.run(docker: docker, agentArguments: arguments) { cluster in
            let job = try await cluster.submit(Jobs.service(Self.script, desired: 1))
            let stopped = try await Self.running(cluster, job)
            let port = try #require(Self.metadataPort(cluster.agent.recentLog))
            try await cluster.killJob(job)
            try await cluster.waitUntil("the container removed") { try await cluster.containers().isEmpty }
            try await DockerTestEnvironment.withScope { scope in
                var probe: (id: String, ip: String?) = ("", nil)
                for attempt in 0..<5 {
                    let id = try await scope.run("probe-\(attempt)", "sleep 120")
                    probe = (id, try await docker.inspectContainer(id).ipAddress)
                    if probe.ip == stopped.ip { break }
                    try await docker.removeContainer(id, force: true)
                }
                if probe.ip != stopped.ip {
                    print("⚠️  no container got the stopped task's address \(stopped.ip) back (others took it); checking a fresh one")
                    probe.id = try await scope.run("probe-fresh", "sleep 120")
                }
                let answer = try ContainerShell(containerId: probe.id).http("GET", "/latest/meta-data/instance-id",
                                                                            host: endpoint[0], port: String(port))
                #expect(answer.status == 403 && !answer.body.contains(stopped.task.id), "\(answer)")
            }
        }
    }

    /// The endpoint's bound port, from the agent's "metadata serving" log line.
    static func metadataPort(_ log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("metadata serving") {
            guard let range = line.range(of: #""metadata":""#) else { continue }
            let address = line[range.upperBound...].prefix { $0 != "\"" }
            return address.split(separator: ":").last.flatMap { Int($0) }
        }
        return nil
    }

    /// With DNAT on (the default), containers reach the endpoint at 169.254.169.254:80 while the
    /// agent runs; the rule is gone once it stops.
    @Test(.timeLimit(.minutes(3)))
    func theDNATRuleLivesAsLongAsTheAgent() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        guard getuid() == 0, let iptables = MetadataDNAT.findIPTables() else {
            let problem = "the DNAT test needs root and iptables"
            if DockerTestEnvironment.isCI { Issue.record("\(problem)") } else { print("⚠️  SKIPPED: \(problem)") }
            return
        }
        guard let gateway = try await docker.bridgeAddress()?.address else { Issue.record("no bridge address"); return }
        try await EndToEndCluster.run(docker: docker, agentArguments: ["--metadata", "bridge:0"]) { cluster in
            let port = try #require(Self.metadataPort(cluster.agent.recentLog))
            let interface = try #require(MetadataDNAT.interface(holding: gateway))
            let rule = MetadataDNAT(destination: "\(gateway):\(port)", interface: interface, iptables: iptables)
            #expect(rule.isInstalled(), "the rule for \(gateway):\(port) is missing:\n\(cluster.agent.recentLog.suffix(2_000))")
            let running = try await Self.running(cluster, try await cluster.submit(Jobs.service(Self.script, desired: 1)),
                                                 probeHost: MetadataDNAT.address, probePort: "80")
            #expect(try running.shell.run("echo $FULLER_METADATA_URL").trimmingCharacters(in: .whitespacesAndNewlines)
                    == "http://169.254.169.254")
            let answer = try running.shell.http("GET", "/latest/meta-data/local-ipv4", host: MetadataDNAT.address, port: "80")
            #expect(answer.status == 200 && answer.body == running.ip, "\(answer)")
            cluster.agent.kill(SIGTERM)
            #expect(!rule.isInstalled(), "the agent stopped and left its rule behind")
        }
    }

    /// A container's very first command may ask: the endpoint holds the request until the
    /// agent has learned the container's address, instead of refusing it.
    @Test(.timeLimit(.minutes(2)))
    func theFirstCommandOfANewContainerIsAnswered() async throws {
        guard let docker = await DockerTestEnvironment.client(), let arguments = try await Self.gatewayArguments(docker) else { return }
        try await EndToEndCluster.run(docker: docker, agentArguments: arguments) { cluster in
            let script = ContainerShell.endpointFromEnvironment
                + #"; printf 'GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n' | nc $h $p; echo; echo done"#
            var w = JSONWriter()
            w.string(script)
            let job = try await cluster.submit(#"{"name":"first","owner":"e2e","type":"batch","container":{"image":"\#(Jobs.image)","#
                + #""command":["sh","-c",\#(String(decoding: w.bytes, as: UTF8.self))],"resources":{"cpu":0.1,"memoryMB":64}},"#
                + #""batch":{"size":1}}"#)
            let task = try #require(try await cluster.waitForTasks(job, count: 1, "finished") { $0.isFinished }.first)
            #expect(task.reason == "normal", "\(task)")
            #expect(task.message?.contains(" 200 OK") == true && task.message?.contains(task.id) == true, "\(task)")
            // Leave the agent's removal of the finished container to finish before tear-down.
            try await cluster.waitUntil("the finished container removed") { try await cluster.containers().isEmpty }
        }
    }
}
