import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The metadata endpoint's start-up against a scripted engine (a loopback HTTP server answering
/// `GET /networks/bridge`): what a first-started `dockerd` or a bridge that does not exist yet
/// look like. Its addresses are in 127.0.0.0/8, which this host has on `lo` whatever the
/// subnet says, so the endpoint can really listen.
@Suite struct MetadataEndpointTests {
    /// Answers `/networks/bridge` with whatever `network` holds at the time.
    final class ScriptedEngine: HTTPHandler {
        let network: Mutex<String>
        init(_ network: String) { self.network = Mutex(network) }

        func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
            if request.path == "/version" {
                let body = #"{"Version":"scripted","ApiVersion":"1.41","MinAPIVersion":"1.12"}"#
                return respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(body.utf8)))
            }
            guard request.path == "/v1.41/networks/bridge" || request.path == "/networks/bridge" else {
                return respond(HTTPResponse(status: 404, body: Array("404 page not found\n".utf8)))
            }
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(network.withLock { $0 }.utf8)))
        }
    }

    static func network(subnet: String) -> String {
        #"{"Name":"bridge","IPAM":{"Driver":"default","Config":[{"Subnet":"\#(subnet)"}]},"Options":{"com.docker.network.bridge.name":"fuller-none0"}}"#
    }

    static func arguments(_ line: [String]) throws -> ParsedArguments {
        let spec = CommandSpec("fuller-agent", summary: "test", flags: MetadataEndpoint.flags)
        guard case .run(let parsed) = try ArgumentParser.parse(line, for: spec, environment: [:]) else {
            throw TestFailure("expected a command")
        }
        return parsed
    }

    static func withEngine(_ engine: ScriptedEngine, _ body: (DockerClient) async throws -> Void) async throws {
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), handler: engine)
        try server.start()
        defer { server.beginShutdown(grace: .zero) }
        try await body(DockerClient(endpoint: .tcp(host: "127.0.0.1", port: server.port)))
    }

    /// A listening socket on a free port of `address`, without SO_REUSEPORT, so that no other
    /// socket (the HTTP server sets that option) can bind the port while it is open.
    static func holdPort(on address: String) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, address, &sin.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 1) == 0 else {
            close(fd)
            throw TestFailure("cannot hold a port on \(address): \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: sin.sin_port)))
    }

    static let logger = Logger(component: "test", sink: CapturingLogSink())

    /// `MetadataEndpoint.start` blocks its thread while it asks the engine (the agent calls it
    /// from its main thread), so it runs on a Dispatch thread here, off the cooperative pool.
    static func start(_ line: [String], docker: DockerClient) async throws -> MetadataEndpoint {
        let arguments = try Self.arguments(line)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<MetadataEndpoint, MetadataStartError>, Never>) in
            DispatchQueue(label: "test.metadata-start").async {
                continuation.resume(returning: Result { () throws(MetadataStartError) in
                    try MetadataEndpoint.start(arguments, docker: docker, host: MetadataResponderTests.host, logger: Self.logger,
                                                  metrics: AgentMetrics())
                })
            }
        }
        return try result.get()
    }

    /// A first-started `dockerd`: the default bridge has a subnet and no `Gateway`.
    @Test func aBridgeWithoutGatewayIsServedOnItsAddress() async throws {
        try await Self.withEngine(ScriptedEngine(Self.network(subnet: "127.77.0.0/16"))) { docker in
            let endpoint = try await Self.start(["--metadata", "bridge:0", "--no-metadata-dnat"], docker: docker)
            #expect(endpoint.readiness.ok)
            #expect(endpoint.containerURL.hasPrefix("http://127.77.0.1:"), "\(endpoint.containerURL)")
            let client = try HTTPClient(url: endpoint.containerURL)
            #expect(try await client.send(.GET, "/latest/meta-data/instance-id").status == 403, "answered, and nobody's caller")
            client.shutdown()
            await endpoint.stop()
        }
    }

    /// The bridge's address cannot be bound yet (here: another socket holds the port): the
    /// endpoint is pending, `/readyz` says why, and it listens by itself once it can, on the
    /// address the containers were given.
    @Test(.timeLimit(.minutes(1)))
    func anAddressNotBindableYetIsWaitedForThenServed() async throws {
        let (blocker, port) = try Self.holdPort(on: "127.79.0.1")
        try await Self.withEngine(ScriptedEngine(Self.network(subnet: "127.79.0.0/16"))) { docker in
            let endpoint = try await Self.start(["--metadata", "bridge:\(port)", "--no-metadata-dnat"], docker: docker)
            let pending = endpoint.readiness
            #expect(!pending.ok && pending.message?.contains("cannot listen on 127.79.0.1:\(port)") == true, "\(pending)")
            #expect(endpoint.containerURL == "http://127.79.0.1:\(port)")
            let binding = Task { await endpoint.bindUntilServing() }
            close(blocker)
            await binding.value
            #expect(endpoint.readiness.ok, "\(endpoint.readiness)")
            let client = try HTTPClient(url: endpoint.containerURL)
            #expect(try await client.send(.GET, "/latest/meta-data/instance-id").status == 403, "answered, and nobody's caller")
            client.shutdown()
            await endpoint.stop()
            #expect(!endpoint.readiness.ok)
        }
    }

    /// Without DNAT the containers' URL needs an address: with none at all, start-up says so.
    @Test func noAddressAndNoDNATIsAStartError() async throws {
        try await Self.withEngine(ScriptedEngine(#"{"Name":"bridge","IPAM":{"Config":[]}}"#)) { docker in
            await #expect(throws: MetadataStartError.self) {
                _ = try await Self.start(["--metadata", "bridge:0", "--no-metadata-dnat"], docker: docker)
            }
        }
    }
}
