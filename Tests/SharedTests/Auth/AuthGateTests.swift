import Foundation
import Synchronization
import Model
import Testing
@testable import Shared

/// `AuthGate` and `Authenticator` around a small router, in-process; the token file is real.
@Suite struct AuthGateTests {
    static let tokens = """
    admin ops admin-token-0123456789
    read dash read-token-0123456789
    peer m1 peer-token-0123456789
    admin old expired-token-0123456789 expires=2020-01-01T00:00:00Z
    """

    static let policy = AccessPolicy(["GET /healthz": .open, "GET /v1/things": .read, "POST /v1/things": .admin])

    static var router: Router {
        var router = Router()
        router.add(.GET, "/healthz") { _, _ in HTTPResponse(status: 200) }
        router.add(.GET, "/v1/things") { _, _ in HTTPResponse(status: 200) }
        router.add(.POST, "/v1/things") { _, _ in HTTPResponse(status: 201) }
        router.add(.POST, "/v1/unlisted") { _, _ in HTTPResponse(status: 201) }
        return router
    }

    /// A gate over `router` with the token file `text`, and the directory holding it.
    static func gate(_ text: String = tokens, sink: CapturingLogSink = CapturingLogSink()) throws -> (AuthGate, Authenticator, String) {
        let dir = NSTemporaryDirectory() + "fuller-auth-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/tokens"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let authenticator = try Authenticator(tokenFile: path, logger: Logger(component: "test", sink: sink))
        return (AuthGate(router: router, policy: policy, authenticator: authenticator), authenticator, path)
    }

    static func call(_ gate: AuthGate, _ method: HTTPMethod, _ target: String, token: String?) -> HTTPResponse {
        var headers = HTTPHeaders()
        if let token { headers.add("Authorization", "Bearer \(token)") }
        let box = Mutex<HTTPResponse?>(nil)
        gate.handle(HTTPRequest(method: method, target: target, headers: headers)) { r in box.withLock { $0 = r } }
        return box.withLock { $0 }!
    }

    static func code(_ r: HTTPResponse) -> String? {
        guard case .string(let code)? = (try? JSONParser.parse(r.bodyBytes))?["error"]?["code"] else { return nil }
        return code
    }

    @Test func rolesOpenTheirRoutesOnly() throws {
        let (gate, _, _) = try Self.gate()
        #expect(Self.call(gate, .GET, "/healthz", token: nil).status == 200, "open route")
        #expect(Self.call(gate, .GET, "/v1/things", token: "read-token-0123456789").status == 200)
        #expect(Self.call(gate, .HEAD, "/v1/things", token: "read-token-0123456789").status == 200, "HEAD is GET's")
        #expect(Self.call(gate, .POST, "/v1/things", token: "admin-token-0123456789").status == 201)
        let forbidden = Self.call(gate, .POST, "/v1/things?x=1", token: "read-token-0123456789")
        #expect(forbidden.status == 403 && Self.code(forbidden) == "permission_denied")
        let text = String(decoding: forbidden.bodyBytes, as: UTF8.self)
        #expect(text.contains("a read token may not call POST /v1/things; it needs admin"), "\(text)")
        #expect(Self.call(gate, .GET, "/v1/things", token: "peer-token-0123456789").status == 403, "peer is not a client role")
    }

    @Test func missingWrongMalformedAndExpiredTokensAre401WithAChallenge() throws {
        let (gate, _, _) = try Self.gate()
        let cases: [(HTTPResponse, String?)] = [
            (Self.call(gate, .GET, "/v1/things", token: nil), nil),
            (Self.call(gate, .GET, "/v1/things", token: "wrong-token-0123456789"), "the token is not valid"),
            (Self.call(gate, .GET, "/v1/things", token: "expired-token-0123456789"), "the token has expired"),
        ]
        for (response, description) in cases {
            #expect(response.status == 401 && Self.code(response) == "unauthenticated")
            let challenge = response.headers["WWW-Authenticate"] ?? ""
            #expect(challenge.hasPrefix(#"Bearer realm="fuller""#))
            if let description { #expect(challenge.contains(#"error="invalid_token", error_description="\#(description)""#)) }
            #expect(!String(decoding: response.bodyBytes, as: UTF8.self).contains("token-0123456789"), "no token echoed")
        }
        var headers = HTTPHeaders()
        headers.add("Authorization", "Basic YWRtaW46YWRtaW4=")
        let box = Mutex<HTTPResponse?>(nil)
        gate.handle(HTTPRequest(method: .GET, target: "/v1/things", headers: headers)) { r in box.withLock { $0 = r } }
        #expect(box.withLock { $0 }?.status == 401)
    }

    @Test func unlistedRoutesAreAdminOnlyAndUnknownPathsNeedAToken() throws {
        let (gate, _, _) = try Self.gate()
        #expect(Self.call(gate, .POST, "/v1/unlisted", token: "read-token-0123456789").status == 403)
        #expect(Self.call(gate, .POST, "/v1/unlisted", token: "admin-token-0123456789").status == 201)
        #expect(Self.call(gate, .GET, "/v1/nothing", token: nil).status == 401, "no route map for anonymous callers")
        #expect(Self.call(gate, .GET, "/v1/nothing", token: "read-token-0123456789").status == 404)
        #expect(Self.policy.unlisted(Self.router.routes) == ["POST /v1/unlisted"])
    }

    @Test func withoutAnAuthenticatorEverythingPasses() {
        let gate = AuthGate(router: Self.router, policy: Self.policy, authenticator: nil)
        #expect(Self.call(gate, .POST, "/v1/things", token: nil).status == 201)
    }

    @Test func aReloadAddsAndRemovesTokensAndABadFileKeepsTheOldOnes() throws {
        let sink = CapturingLogSink()
        let (gate, authenticator, path) = try Self.gate(sink: sink)
        try "read dash2 new-read-token-0123456789\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(authenticator.reload())
        #expect(Self.call(gate, .GET, "/v1/things", token: "new-read-token-0123456789").status == 200)
        #expect(Self.call(gate, .GET, "/v1/things", token: "read-token-0123456789").status == 401, "removed on reload")

        try "read dash3 short\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!authenticator.reload())
        #expect(Self.call(gate, .GET, "/v1/things", token: "new-read-token-0123456789").status == 200, "old set kept")
        #expect(sink.lines.contains { $0.contains("token file not reloaded") && $0.contains("line 1") })
        try FileManager.default.removeItem(atPath: path)
        #expect(!authenticator.reload(), "a missing file keeps the old set too")
        #expect(Self.call(gate, .GET, "/v1/things", token: "new-read-token-0123456789").status == 200)
        #expect(!sink.lines.contains { $0.contains("token-0123456789") }, "a token reached the log")
    }

    @Test func aTokenFileOthersCanReadIsLoadedWithAWarning() throws {
        let sink = CapturingLogSink()
        let (_, authenticator, path) = try Self.gate(sink: sink)
        chmod(path, 0o644)
        #expect(authenticator.reload())
        #expect(sink.lines.contains { $0.contains("chmod 0600") })
    }

    @Test func sighupReloads() async throws {
        let (gate, authenticator, path) = try Self.gate()
        authenticator.reloadOnHangup()
        try "read dash new-read-token-0123456789\n".write(toFile: path, atomically: true, encoding: .utf8)
        kill(getpid(), SIGHUP)
        let deadline = ContinuousClock.now + .seconds(5)
        while Self.call(gate, .GET, "/v1/things", token: "new-read-token-0123456789").status != 200 {
            #expect(ContinuousClock.now < deadline, "SIGHUP did not reload")
            if ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
