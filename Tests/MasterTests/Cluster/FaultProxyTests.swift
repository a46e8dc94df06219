import Foundation
import Testing
import TestSupport
@testable import Shared

/// The proxy the partition tests rely on: it must really pass, drop and blackhole, and switch
/// back.
@Suite struct FaultProxyTests {
    @Test(.timeLimit(.minutes(1)))
    func passDropBlackholeAndPassAgain() async throws {
        var router = Router()
        router.add(.GET, "/ping") { _, _ in HTTPResponse(status: 200, body: Array("pong".utf8)) }
        let server = HTTPServer(configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0), handler: router)
        try server.start()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = .seconds(1)
        let client = try HTTPClient(url: "http://127.0.0.1:\(proxy.port)", configuration: configuration)
        defer { client.shutdown() }
        func ping() async -> Result<Int, HTTPClientError> {
            do { return .success(try await client.send(.GET, "/ping", timeout: .seconds(2)).status) } catch { return .failure(error) }
        }

        #expect(await ping() == .success(200))

        // Dropped: the connection breaks at once rather than running into the deadline.
        proxy.set(.drop)
        switch await ping() {
        case .failure(.timedOut(let phase)): Issue.record("a dropped link timed out (\(phase))")
        case .failure: break
        case .success(let status): Issue.record("a dropped link answered \(status)")
        }

        proxy.set(.blackhole)
        #expect(await ping() == .failure(.timedOut(.requestDeadline)))

        proxy.set(.pass)
        #expect(await ping() == .success(200))
        await server.shutdown(grace: .seconds(1))
    }
}
