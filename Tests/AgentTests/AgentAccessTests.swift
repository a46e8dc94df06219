import Foundation
import Synchronization
import Testing
@testable import Agent
import Model
@testable import Shared

/// The agent's API answers probes to anyone and everything else to the masters' `master` token only.
@Suite struct AgentAccessTests {
    static let tokenFile = """
    master masters master-token-0123456789
    peer  masters  peer-token-0123456789
    admin ops      admin-token-0123456789
    agent a1       agent-token-0123456789
    """

    static func gate() throws -> AuthGate {
        let path = NSTemporaryDirectory() + "fuller-agent-tokens-" + UUID().uuidString
        try tokenFile.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let authenticator = try Authenticator(tokenFile: path, logger: Logger(component: "test", sink: CapturingLogSink()))
        let notReady = AgentRoutes.ReadinessCheck("docker") { AgentRoutes.ReadinessResult(ok: false, message: "down") }
        var router = AgentRoutes.router(readiness: [notReady])
        // A route the agent may grow (masters-only, as every route without a rule).
        router.add(.POST, "/v1/tasks/{id}/signal") { _, _ in HTTPResponse(status: 204) }
        return AuthGate(router: router, policy: AgentRoutes.access, authenticator: authenticator)
    }

    static func status(_ gate: AuthGate, _ method: HTTPMethod, _ target: String, token: String?) -> Int {
        var headers = HTTPHeaders()
        if let token { headers.add("Authorization", "Bearer \(token)") }
        let box = Mutex<Int>(0)
        gate.handle(HTTPRequest(method: method, target: target, headers: headers)) { r in box.withLock { $0 = r.status } }
        return box.withLock { $0 }
    }

    @Test func probesAreOpen() throws {
        let gate = try Self.gate()
        #expect(Self.status(gate, .GET, "/healthz", token: nil) == 200)
        #expect(Self.status(gate, .GET, "/readyz", token: nil) == 503, "answered (not ready), not refused")
        #expect(Self.status(gate, .GET, "/metrics", token: nil) == 401)
        #expect(Self.status(gate, .GET, "/metrics", token: "master-token-0123456789") == 200)
    }

    @Test func everythingElseIsForTheMastersOnly() throws {
        let gate = try Self.gate()
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: "master-token-0123456789") == 204)
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: "peer-token-0123456789") == 403,
                "the masters' Raft credential opens nothing on an agent")
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: "admin-token-0123456789") == 403)
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: "agent-token-0123456789") == 403)
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: nil) == 401)
        #expect(Self.status(gate, .POST, "/v1/tasks/t1/signal", token: "wrong-token-0123456789") == 401)
        #expect(Self.status(gate, .GET, "/v1/anything", token: nil) == 401)
    }

    @Test func everyProbeRouteIsListedAndNothingElseIsOpen() {
        let open = AgentRoutes.access.rules.filter { $0.value == .open }.map(\.key).sorted()
        #expect(open == ["GET /healthz", "GET /readyz"])
        #expect(AgentRoutes.access.fallback == .master)
    }

    /// Agents once listed the masters' peer token, so one taken-over agent host could speak Raft
    /// to every master.
    @Test func anAgentRefusesATokenFileWithAPeerToken() {
        #expect(AgentRoutes.tokenFileRefusal([.master, .read]) == nil)
        #expect(AgentRoutes.tokenFileRefusal([.master, .peer])?.contains("peer token") == true)
    }
}
