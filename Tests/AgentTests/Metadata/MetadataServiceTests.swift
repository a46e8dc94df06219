import Foundation
import Testing
import TestSupport
@testable import Agent
import Model
import Shared
import Synchronization

/// The metadata service behind a live HTTP server on loopback, where the caller is 127.0.0.1,
/// and the credentials provider as a real command.
@Suite struct MetadataServiceTests {
    static let me = MetadataResponderTests.identity(ip: "127.0.0.1")

    /// Runs `body` with a server for `service` and a client of it.
    static func serving(_ service: MetadataService, _ body: (HTTPClient) async throws -> Void) async throws {
        let server = HTTPServer(configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0), handler: service)
        try server.start()
        let client = try HTTPClient(url: "http://127.0.0.1:\(server.port)")
        do { try await body(client) } catch {
            client.shutdown()
            await server.shutdown(grace: .zero)
            throw error
        }
        client.shutdown()
        await server.shutdown(grace: .zero)
    }

    static func service(credentials: CredentialsCommand? = nil, unknownCallerWait: Duration = .seconds(1)) -> MetadataService {
        var configuration = MetadataService.Configuration(host: MetadataResponderTests.host, credentials: credentials)
        configuration.unknownCallerWait = unknownCallerWait
        return MetadataService(configuration: configuration, logger: Logger(component: "test", sink: CapturingLogSink()))
    }

    /// Another container took the caller's IP by forging ARP: the host's neighbour entry for the
    /// IP shows the forger's MAC, not the one Docker gave the container holding it.
    @Test func aCallerWhoseMACIsNotItsContainersIsRefusedAndCounted() async throws {
        let neighbours = Mutex<[String]>(["02:42:ac:11:00:02"])
        var configuration = MetadataService.Configuration(host: MetadataResponderTests.host)
        configuration.neighbours = { ip in ip == "127.0.0.1" ? neighbours.withLock { $0 } : [] }
        let metrics = AgentMetrics()
        let service = MetadataService(configuration: configuration, logger: Logger(component: "test", sink: CapturingLogSink()),
                                      metrics: metrics)
        service.callersChanged([MetadataResponderTests.identity(ip: "127.0.0.1", macAddress: "02:42:ac:11:00:02")], starting: 0)
        try await Self.serving(service) { client in
            #expect(try await client.send(.GET, "/latest/meta-data/instance-id").status == 200)
            neighbours.withLock { $0 = ["02:42:ac:11:00:07"] }
            let spoofed = try await client.send(.GET, "/latest/meta-data/instance-id")
            #expect(spoofed.status == 403 && String(decoding: spoofed.bodyBytes, as: UTF8.self).contains("link-layer"))
            neighbours.withLock { $0 = [] }
            #expect(try await client.send(.PUT, "/latest/api/token", headers: [MetadataResponder.ttlHeader: "60"]).status == 403)
        }
        #expect(metrics.metadataLinkMismatches.value == 2)
        #expect(metrics.registry.exposition().contains("fuller_agent_metadata_link_mismatches_total 2"))
    }

    @Test func answersByTheSourceAddressOverHTTP() async throws {
        let service = Self.service()
        try await Self.serving(service) { client in
            #expect(try await client.send(.GET, "/latest/meta-data/instance-id").status == 403, "no task runs yet")
            service.callersChanged([Self.me], starting: 0)
            let answer = try await client.send(.GET, "/latest/meta-data/instance-id?ignored=1")
            #expect(answer.status == 200 && String(decoding: answer.bodyBytes, as: UTF8.self) == "t1")
            let head = try await client.send(.HEAD, "/latest/meta-data/local-ipv4")
            #expect(head.status == 200 && head.bodyBytes.isEmpty && head.headers["Content-Length"] == "9")
            let token = try await client.send(.PUT, "/latest/api/token", headers: ["X-aws-ec2-metadata-token-ttl-seconds": "30"])
            #expect(token.status == 200 && token.bodyBytes.count == 43)
            let withToken = try await client.send(.GET, "/latest/meta-data/instance-id",
                                                  headers: ["X-aws-ec2-metadata-token": String(decoding: token.bodyBytes, as: UTF8.self)])
            #expect(withToken.status == 200 && withToken.headers["X-aws-ec2-metadata-token-ttl-seconds"] == "30")
            service.callersChanged([], starting: 0)
            #expect(try await client.send(.GET, "/latest/meta-data/instance-id").status == 403, "stopped: refused at once")
        }
    }

    @Test(arguments: [("172.17.0.2:40000", "172.17.0.2"), ("[::1]:80", "::1"), ("garbage", nil)] as [(String, String?)])
    func sourceAddress(remote: String, host: String?) {
        #expect(MetadataService.host(of: remote).map(String.init) == host)
    }

    @Test func tokensAreDistinct() {
        let tokens = Set((0..<100).map { _ in MetadataService.newToken() })
        #expect(tokens.count == 100 && tokens.allSatisfy { $0.count == 43 && !$0.contains("=") && !$0.contains("/") })
    }

    /// Writes an executable shell script and returns its path. A child shell writes it, so no
    /// descriptor open for writing can leak from this process into a child that another test
    /// forks meanwhile, which would make running the script fail with ETXTBSY.
    static func script(_ directory: TemporaryDirectory, _ name: String, _ body: String) throws -> String {
        let path = directory.path + "/" + name
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 755 \"$2\"", "sh", "#!/bin/sh\n" + body, path]
        try writer.run()
        writer.waitUntilExit()
        guard writer.terminationStatus == 0 else { throw TestFailure("cannot write \(path)") }
        return path
    }

    @Test func credentialsFromTheProviderAreServedAndCached() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let count = directory.path + "/runs"
        let provider = try Self.script(directory, "provider", """
            echo run >> \(count)
            printf '{"RoleName":"role-%s","AccessKeyId":"AK-%s","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"}' "$1" "$FULLER_TASK_ID"
            """)
        let service = Self.service(credentials: CredentialsCommand(path: provider))
        service.callersChanged([Self.me], starting: 0)
        try await Self.serving(service) { client in
            #expect(String(decoding: try await client.send(.GET, "/latest/meta-data/").bodyBytes, as: UTF8.self).contains("iam/"))
            let role = try await client.send(.GET, "/latest/meta-data/iam/security-credentials/")
            #expect(role.status == 200 && String(decoding: role.bodyBytes, as: UTF8.self) == "role-t1")
            let document = try JSONParser.parse(try await client.send(.GET, "/latest/meta-data/iam/security-credentials/role-t1").bodyBytes)
            #expect(document["AccessKeyId"]?.stringValue == "AK-t1" && document["Expiration"]?.stringValue == "2099-01-01T00:00:00Z")
        }
        #expect(try String(contentsOfFile: count, encoding: .utf8) == "run\n", "cached: the provider ran once")
    }

    /// The provider is killed at its timeout: `sleep 30` outlasts the client's 10 s, so a hang
    /// fails the test without any timing bound of its own.
    @Test(arguments: [("exit 3", "status 3"), ("echo not-json", "not JSON"), ("sleep 30", "did not finish within"),
                      ("yes", "printed more than")])
    func aFailingProviderIsAnErrorNotAHang(body: String, error: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let provider = try Self.script(directory, "provider", body)
        let service = Self.service(credentials: CredentialsCommand(path: provider, timeout: .milliseconds(300), outputBytesMax: 1_024))
        service.callersChanged([Self.me], starting: 0)
        try await Self.serving(service) { client in
            let answer = try await client.send(.GET, "/latest/meta-data/iam/security-credentials/", timeout: .seconds(10))
            #expect(answer.status == 500)
            #expect(String(decoding: answer.bodyBytes, as: UTF8.self).contains(error))
        }
    }

    /// A container that asks before the agent has learned its address is held, not refused.
    @Test func aStartingTasksFirstRequestWaitsForItsAddress() async throws {
        // A wait far longer than the test's 200 ms pause, which a loaded machine can stretch
        // past the default second: the request must be held, then answered.
        let service = Self.service(unknownCallerWait: .seconds(20))
        service.callersChanged([], starting: 1)
        try await Self.serving(service) { client in
            async let answer = client.send(.GET, "/latest/meta-data/instance-id", timeout: .seconds(25))
            try await Task.sleep(for: .milliseconds(200))
            service.callersChanged([Self.me], starting: 0)
            let response = try await answer
            let body = String(decoding: response.bodyBytes, as: UTF8.self)
            #expect(response.status == 200 && body == "t1", "\(response.status): \(body)")
        }
    }

    @Test func anUnknownCallerIsRefusedAtOnceOrAfterTheWait() async throws {
        let service = Self.service()
        try await Self.serving(service) { client in
            let refused = try await client.send(.GET, "/latest/meta-data/instance-id")
            #expect(refused.status == 403)
            #expect(service.heldTotal == 0, "nothing is starting: refused without being held")
            service.callersChanged([MetadataResponderTests.identity(ip: "172.17.0.2")], starting: 1)
            let again = ContinuousClock.now
            let held = try await client.send(.GET, "/latest/meta-data/instance-id", timeout: .seconds(5))
            #expect(held.status == 403)
            #expect(service.heldTotal == 1)
            #expect(ContinuousClock.now - again >= .milliseconds(900), "held for the wait while a task starts")
        }
    }
}
