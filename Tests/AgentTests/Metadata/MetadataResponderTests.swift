import Testing
@testable import Agent
import Model
import Shared

/// The metadata endpoint's rules, in-process: who may ask, every path, and IMDSv2 tokens.
@Suite struct MetadataResponderTests {
    static let host = MetadataHost(agentId: "a1", zone: "us-east-1a", machineType: "m5.large", machineGroup: "general")

    static func identity(_ task: String = "t1", ip: String = "172.17.0.2", container: String = "c1",
                         requireTokens: Bool = false, macAddress: String? = nil) -> TaskIdentity {
        TaskIdentity(taskId: task, jobId: "j1", index: 3, attempt: 1, containerId: container, ip: ip, hostname: "h-\(task)",
                     image: "busybox:1", resources: Resources(cpu: 0.5, memoryMB: 64), startedAt: "2026-11-25T19:00:00Z",
                     requireTokens: requireTokens, macAddress: macAddress)
    }

    /// A responder with `identities` running, a clock at `now`, and tokens tok1, tok2, …
    struct Harness {
        var responder = MetadataResponder(host: MetadataResponderTests.host, tokensPerTaskMax: 4)
        var now: Duration = .seconds(100)
        var issued = 0

        init(_ identities: [TaskIdentity] = [MetadataResponderTests.identity()], credentials: Bool = false,
             host: MetadataHost = MetadataResponderTests.host) {
            var host = host
            host.credentialsProvider = credentials
            responder = MetadataResponder(host: host, tokensPerTaskMax: 4)
            responder.update(identities)
        }

        mutating func ask(_ method: HTTPMethod = .GET, _ path: String, from ip: String = "172.17.0.2", token: String? = nil,
                          ttl: String? = nil, forwarded: Bool = false) -> HTTPResponse {
            let query = MetadataQuery(method: method, path: path[...], callerIP: ip[...], token: token, ttlSeconds: ttl,
                                      forwarded: forwarded)
            var counter = issued
            let outcome = responder.answer(query, now: now, wallNow: Timestamp(millisecondsSinceEpoch: 1_000_000)) {
                counter += 1
                return "tok\(counter)"
            }
            issued = counter
            switch outcome {
            case .respond(let response): return response
            case .unknownCaller: return MetadataResponder.unknownCallerResponse
            case .fetchCredentials: return HTTPResponse(status: -1)
            }
        }

        mutating func text(_ path: String, from ip: String = "172.17.0.2", token: String? = nil) -> String? {
            let response = ask(.GET, path, from: ip, token: token)
            return response.status == 200 ? String(decoding: response.bodyBytes, as: UTF8.self) : nil
        }
    }

    @Test(arguments: [
        ("/latest/meta-data/instance-id", "t1"),
        ("/latest/meta-data/local-ipv4", "172.17.0.2"),
        ("/latest/meta-data/local-hostname", "h-t1"),
        ("/latest/meta-data/hostname", "h-t1"),
        ("/latest/meta-data/instance-type", "m5.large"),
        ("/latest/meta-data/placement/availability-zone", "us-east-1a"),
        ("/latest/meta-data/placement/region", "us-east-1"),
        ("/", "latest"),
        ("/latest/", "dynamic\nmeta-data"),
        ("/latest/meta-data/", "hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/"),
        ("/latest/meta-data", "hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/"),
        ("/latest/meta-data/placement/", "availability-zone\nregion"),
        ("/latest/dynamic/", "instance-identity/"),
        ("/latest/dynamic/instance-identity/", "document"),
    ])
    func paths(path: String, expected: String) {
        var h = Harness()
        let response = h.ask(.GET, path)
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/plain")
        #expect(String(decoding: response.bodyBytes, as: UTF8.self) == expected)
    }

    @Test func documents() throws {
        var h = Harness()
        let document = try JSONParser.parse(h.ask(.GET, "/latest/dynamic/instance-identity/document").bodyBytes)
        #expect(document["instanceId"]?.stringValue == "t1")
        #expect(document["privateIp"]?.stringValue == "172.17.0.2")
        #expect(document["availabilityZone"]?.stringValue == "us-east-1a" && document["region"]?.stringValue == "us-east-1")
        #expect(document["imageId"]?.stringValue == "busybox:1" && document["pendingTime"]?.stringValue == "2026-11-25T19:00:00Z")
        let response = h.ask(.GET, "/fuller/v1/task")
        #expect(response.headers["Content-Type"] == "application/json")
        let task = try JSONParser.parse(response.bodyBytes)
        #expect(task["taskId"]?.stringValue == "t1" && task["jobId"]?.stringValue == "j1" && task["index"] == .int(3))
        #expect(task["containerId"]?.stringValue == "c1" && task["agent"]?["id"]?.stringValue == "a1")
        #expect(task["resources"]?["memoryMB"] == .int(64))
    }

    /// botocore's region fetcher asks for `placement/availability-zone/`: a value answers with a
    /// trailing `/` as well, as EC2's does.
    @Test func aValueAnswersWithATrailingSlash() {
        var h = Harness()
        #expect(h.text("/latest/meta-data/placement/availability-zone/") == "us-east-1a")
        #expect(h.text("/latest/meta-data/placement/region/") == "us-east-1")
        #expect(h.text("/latest/meta-data/instance-id/") == "t1")
    }

    /// An agent started without `--zone` or `--machine-type` has no such values: their paths are
    /// 404 and unlisted, and the documents leave them out, so no client reads an empty region.
    @Test func valuesTheAgentLacksAreAbsentNotEmpty() throws {
        var h = Harness(host: MetadataHost(agentId: "a1"))
        for path in ["placement/availability-zone", "placement/availability-zone/", "placement/region", "placement/", "instance-type"] {
            #expect(h.ask(.GET, "/latest/meta-data/" + path).status == 404, "\(path)")
        }
        #expect(h.text("/latest/meta-data/") == "hostname\ninstance-id\nlocal-hostname\nlocal-ipv4")
        let document = try JSONParser.parse(h.ask(.GET, "/latest/dynamic/instance-identity/document").bodyBytes)
        #expect(document["availabilityZone"] == nil && document["region"] == nil && document["instanceType"] == nil)
        #expect(document["instanceId"]?.stringValue == "t1")
        let agent = try JSONParser.parse(h.ask(.GET, "/fuller/v1/task").bodyBytes)["agent"]
        #expect(agent?["id"]?.stringValue == "a1" && agent?["zone"] == nil && agent?["region"] == nil && agent?["machineType"] == nil)

        // A region given without a zone is answered on its own.
        var regional = Harness(host: MetadataHost(agentId: "a1", region: "eu-test-1"))
        #expect(regional.text("/latest/meta-data/placement/") == "region")
        #expect(regional.text("/latest/meta-data/placement/region") == "eu-test-1")
        #expect(regional.ask(.GET, "/latest/meta-data/placement/availability-zone").status == 404)
    }

    @Test func unknownCallersAndPathsAndMethods() {
        var h = Harness()
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", from: "172.17.0.9").status == 403)
        #expect(h.ask(.PUT, "/latest/api/token", from: "172.17.0.9", ttl: "60").status == 403)
        #expect(h.ask(.GET, "/latest/meta-data/nothing").status == 404)
        #expect(h.ask(.GET, "/latest/meta-data/iam/security-credentials/").status == 404)
        let post = h.ask(.POST, "/latest/meta-data/instance-id")
        #expect(post.status == 405 && post.headers["Allow"] == "GET, HEAD")
        let getToken = h.ask(.GET, "/latest/api/token")
        #expect(getToken.status == 405 && getToken.headers["Allow"] == "PUT")
        #expect(h.ask(.HEAD, "/latest/meta-data/instance-id").status == 200)
    }

    @Test(arguments: [(nil, 400), ("0", 400), ("21601", 400), ("ten", 400), ("-5", 400), ("1", 200), ("21600", 200)] as [(String?, Int)])
    func tokenTTL(ttl: String?, status: Int) throws {
        var h = Harness()
        let response = h.ask(.PUT, "/latest/api/token", ttl: ttl)
        #expect(response.status == status)
        if status == 200 {
            #expect(String(decoding: response.bodyBytes, as: UTF8.self) == "tok1")
            #expect(response.headers[MetadataResponder.ttlHeader] == ttl)
        } else {
            #expect(try JSONParser.parse(response.bodyBytes)["error"]?["field"]?.stringValue == MetadataResponder.ttlHeader)
        }
    }

    @Test func aTokenThroughAProxyIsRefused() {
        var h = Harness()
        #expect(h.ask(.PUT, "/latest/api/token", ttl: "60", forwarded: true).status == 403)
        #expect(h.issued == 0)
    }

    @Test func tokensExpireAndAreCheckedEvenWhenOptional() {
        var h = Harness()
        _ = h.ask(.PUT, "/latest/api/token", ttl: "60")
        let fresh = h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1")
        #expect(fresh.status == 200 && fresh.headers[MetadataResponder.ttlHeader] == "60")
        h.now += .seconds(59)
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1").headers[MetadataResponder.ttlHeader] == "1")
        h.now += .seconds(1)
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1").status == 401)
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "forged").status == 401)
        #expect(h.text("/latest/meta-data/instance-id") == "t1", "without a token, v1 still works for this job")
    }

    @Test func aJobThatRequiresTokensRefusesV1() {
        var h = Harness([MetadataResponderTests.identity(requireTokens: true)])
        #expect(h.ask(.GET, "/latest/meta-data/instance-id").status == 401)
        #expect(h.ask(.HEAD, "/latest/meta-data/instance-id").status == 401)
        #expect(h.ask(.PUT, "/latest/api/token", ttl: "60").status == 200)
        #expect(h.text("/latest/meta-data/instance-id", token: "tok1") == "t1")
    }

    @Test func aTokenIsBoundToTheContainerThatAskedForIt() {
        let other = MetadataResponderTests.identity("t2", ip: "172.17.0.3", container: "c2")
        var h = Harness([MetadataResponderTests.identity(), other])
        _ = h.ask(.PUT, "/latest/api/token", ttl: "600")
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", from: "172.17.0.3", token: "tok1").status == 401)
        #expect(h.text("/latest/meta-data/instance-id", from: "172.17.0.3") == "t2")
        // A new container of the same task at the same IP (not a thing Fuller does, but a reused
        // address must never inherit tokens) does not get the old container's tokens.
        h.responder.update([MetadataResponderTests.identity(container: "c9"), other])
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1").status == 401)
    }

    @Test func aStoppedTaskIsRefusedAndLosesItsTokens() {
        var h = Harness()
        _ = h.ask(.PUT, "/latest/api/token", ttl: "600")
        h.responder.update([])
        #expect(h.ask(.GET, "/latest/meta-data/instance-id").status == 403)
        #expect(h.responder.tokens.grants.isEmpty)
        // Its IP now belongs to another task, which sees itself and not the old tokens.
        h.responder.update([MetadataResponderTests.identity("t7", container: "c7")])
        #expect(h.text("/latest/meta-data/instance-id") == "t7")
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1").status == 401)
    }

    @Test func tokensPerTaskAreBounded() {
        var h = Harness()
        for _ in 0..<6 { _ = h.ask(.PUT, "/latest/api/token", ttl: "600") }
        #expect(h.responder.tokens.count(taskId: "t1") == 4)
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok1").status == 401, "the oldest went first")
        #expect(h.ask(.GET, "/latest/meta-data/instance-id", token: "tok6").status == 200)
    }

    @Test func credentialsComeFromTheProviderAndAreCached() throws {
        var h = Harness(credentials: true)
        #expect(h.text("/latest/meta-data/")?.contains("iam/") == true)
        let query = MetadataQuery(method: .GET, path: "/latest/meta-data/iam/security-credentials/"[...], callerIP: "172.17.0.2"[...])
        let wallNow = Timestamp(millisecondsSinceEpoch: 1_000_000)
        guard case .fetchCredentials(let who) = h.responder.answer(query, now: h.now, wallNow: wallNow, newToken: { "x" }) else {
            Issue.record("expected a provider run")
            return
        }
        #expect(who.taskId == "t1")
        let output = #"{"RoleName":"app","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"}"#
        let credentials = try MetadataCredentials.parse(Array(output.utf8), now: wallNow, refreshMargin: .seconds(300))
        h.responder.store(credentials, for: who)
        #expect(h.text("/latest/meta-data/iam/security-credentials/") == "app")
        let document = try JSONParser.parse(h.ask(.GET, "/latest/meta-data/iam/security-credentials/app").bodyBytes)
        #expect(document["AccessKeyId"]?.stringValue == "AK" && document["Code"]?.stringValue == "Success")
        #expect(h.ask(.GET, "/latest/meta-data/iam/security-credentials/other").status == 404)
    }

    @Test(arguments: [
        #"{"AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"}"#,
        #"{"RoleName":"a/b","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"}"#,
        #"{"RoleName":"app","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"soon"}"#,
        #"{"RoleName":"app","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"1999-01-01T00:00:00Z"}"#,
        #"{"RoleName":"app","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"}"#,
        "not json",
    ])
    func badProviderOutput(output: String) {
        #expect(throws: FieldError.self) {
            try MetadataCredentials.parse(Array(output.utf8), now: Timestamp(millisecondsSinceEpoch: 1_000_000_000_000),
                                          refreshMargin: .seconds(300))
        }
    }

    @Test func credentialsAreRefreshedBeforeTheyExpire() throws {
        let now = Timestamp(millisecondsSinceEpoch: 1_000_000_000_000)
        let expiration = now.advanced(by: .seconds(3_600))
        let output = #"{"RoleName":"app","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"\#(expiration.rfc3339)"}"#
        let credentials = try MetadataCredentials.parse(Array(output.utf8), now: now, refreshMargin: .seconds(300))
        #expect(credentials.refreshAfter == expiration.advanced(by: .seconds(-300)))
        let soon = now.advanced(by: .seconds(60))
        let short = #"{"RoleName":"app","AccessKeyId":"AK","SecretAccessKey":"S","Token":"T","Expiration":"\#(soon.rfc3339)"}"#
        #expect(try MetadataCredentials.parse(Array(short.utf8), now: now, refreshMargin: .seconds(300)).refreshAfter
                == now.advanced(by: MetadataCredentials.minimumKeep))
    }

    @Test(arguments: [("us-east-1a", "us-east-1"), ("zone-a", "zone-a"), ("", ""), ("eu-west-3c", "eu-west-3"), ("a", "a")])
    func regionFromZone(zone: String, region: String) {
        #expect(MetadataHost.region(ofZone: zone) == region)
    }
}
