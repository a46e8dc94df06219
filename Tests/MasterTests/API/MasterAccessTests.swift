import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Master
import Model
@testable import Shared

/// Every route of a real master (in-process, port 0, with a token file) against every role and
/// against missing, wrong, malformed and expired tokens.
@Suite(.serialized) struct MasterAccessTests {
    static let tokenFile = """
    admin  ops   admin-token-0123456789
    submit ci    submit-token-0123456789
    read   dash  read-token-0123456789
    agent  a1    agent-token-0123456789
    agent  *     any-agent-token-0123456789
    peer   m2    peer-token-0123456789
    master ms    master-token-0123456789
    admin  old   expired-token-0123456789 expires=2020-01-01T00:00:00Z
    """

    /// Who may call each route, written out here rather than read from `MasterAccess`, so a
    /// change to the table must change this too.
    static let expected: [String: String] = [
        "GET /healthz": "open", "GET /readyz": "open", "GET /metrics": "read",
        "GET /v1/cluster": "read", "GET /v1/autoscaler": "read", "POST /v1/cluster/members": "admin", "DELETE /v1/cluster/members/{id}": "admin",
        "GET /v1/events": "read",
        "POST /v1/jobs": "submit", "GET /v1/jobs": "read", "GET /v1/jobs/{id}": "read", "DELETE /v1/jobs/{id}": "submit",
        "PUT /v1/jobs/{id}/capacity": "submit",
        "GET /v1/tasks": "read", "GET /v1/tasks/{id}": "read", "DELETE /v1/tasks/{id}": "submit",
        "GET /v1/agents": "read", "GET /v1/agents/{id}": "read", "POST /v1/agents/{id}/drain": "admin",
        "POST /v1/agents/register": "agent", "POST /v1/agents/{id}/heartbeat": "agent",
    ]

    static let callers: [(name: String, token: String?, role: TokenRole?)] = [
        ("admin", "admin-token-0123456789", .admin), ("submit", "submit-token-0123456789", .submit),
        ("read", "read-token-0123456789", .read), ("agent", "agent-token-0123456789", .agent),
        ("peer", "peer-token-0123456789", .peer), ("master", "master-token-0123456789", .master),
        ("none", nil, nil), ("wrong", "wrong-token-0123456789", nil), ("expired", "expired-token-0123456789", nil),
    ]

    static func admitted(_ rule: String) -> Set<TokenRole> {
        switch rule {
        case "read": [.read, .submit, .admin]
        case "submit": [.submit, .admin]
        case "admin": [.admin]
        case "agent": [.agent]
        default: Set(TokenRole.allCases)
        }
    }

    /// A master with the token file above; `body` gets it, then it stops.
    static func withNode(_ body: (MasterNode) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/tokens"
        try tokenFile.write(toFile: path, atomically: true, encoding: .utf8)
        var config = MasterNode.Configuration(dataDirectory: dir.path + "/data")
        config.apiPort = 0
        config.authenticator = try Authenticator(tokenFile: path, logger: Logger(component: "test", sink: CapturingLogSink()))
        let node = try MasterNode.start(config)
        do { try await body(node) } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }

    /// One request through the master's whole handler chain (gate, leader gate, router).
    static func call(_ node: MasterNode, _ method: HTTPMethod, _ target: String, token: String?,
                     authorization: String? = nil, body: String = #"{"id":"a1"}"#) -> HTTPResponse {
        var headers = HTTPHeaders()
        if let token { headers.add("Authorization", "Bearer \(token)") }
        if let authorization { headers.add("Authorization", authorization) }
        let box = Mutex<HTTPResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        node.server.handler.handle(HTTPRequest(method: method, target: target, headers: headers, body: Array(body.utf8))) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return box.withLock { $0 }!
    }

    /// `/v1/agents/{id}/heartbeat` → `/v1/agents/a1/heartbeat`.
    static func concrete(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{id}", with: "a1")
    }

    @Test func everyRouteHasARuleAndEveryRuleARoute() async throws {
        try await Self.withNode { node in
            let rules = Set(MasterAccess.api.rules.keys)
            #expect(Set(node.routes).subtracting(rules).sorted() == [], "routes without an access rule (add them to MasterAccess)")
            #expect(rules.subtracting(node.routes).sorted() == [], "rules for routes that do not exist")
            #expect(Set(node.routes) == Set(Self.expected.keys), "this test's table is out of step with the router")
        }
    }

    @Test func theOpenAPIDocumentNamesEachRoutesRole() throws {
        guard let data = FileManager.default.contents(atPath: OpenAPIRoutesTests.documentPath),
              case .object(let paths)? = try JSONParser.parse([UInt8](data))["paths"] else { throw TestFailure("no paths") }
        var documented: [String: String] = [:]
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for (method, operation) in operations {
                if case .string(let role)? = operation["x-fuller-role"] { documented["\(method.uppercased()) \(path)"] = role }
            }
        }
        #expect(documented == Self.expected)
    }

    @Test func everyRouteAgainstEveryCaller() async throws {
        try await Self.withNode { node in
            for route in node.routes {
                let parts = route.split(separator: " ", maxSplits: 1)
                let method = HTTPMethod(String(parts[0])), target = Self.concrete(String(parts[1]))
                let rule = try #require(Self.expected[route], "no expectation for \(route)")
                for caller in Self.callers {
                    let status = Self.call(node, method, target, token: caller.token).status
                    let want: String
                    if rule == "open" {
                        want = "passes"
                    } else if let role = caller.role {
                        want = Self.admitted(rule).contains(role) ? "passes" : "403"
                    } else {
                        want = "401"
                    }
                    let got = status == 401 ? "401" : status == 403 ? "403" : "passes"
                    #expect(got == want, "\(route) as \(caller.name): \(status)")
                }
            }
        }
    }

    @Test func anAgentTokenTryingAdminCallsIsForbidden() async throws {
        try await Self.withNode { node in
            for (method, target) in [(HTTPMethod.POST, "/v1/agents/a1/drain"), (.POST, "/v1/cluster/members"),
                                     (.DELETE, "/v1/cluster/members/m1"), (.POST, "/v1/jobs"), (.GET, "/v1/jobs"),
                                     (.DELETE, "/v1/jobs/j1"), (.GET, "/metrics")] {
                let r = Self.call(node, method, target, token: "agent-token-0123456789")
                #expect(r.status == 403, "\(method) \(target): \(r.status)")
                #expect(String(decoding: r.bodyBytes, as: UTF8.self).contains("permission_denied"))
            }
        }
    }

    @Test func anAgentTokenActsOnlyAsItsOwnAgent() async throws {
        try await Self.withNode { node in
            let own = Self.call(node, .POST, "/v1/agents/a1/heartbeat", token: "agent-token-0123456789")
            #expect(own.status == 400, "past the gate, the empty heartbeat is refused by the route")
            #expect(Self.call(node, .POST, "/v1/agents/a2/heartbeat", token: "agent-token-0123456789").status == 403)
            #expect(Self.call(node, .POST, "/v1/agents/register", token: "agent-token-0123456789",
                              body: #"{"id":"a2"}"#).status == 403)
            #expect(Self.call(node, .POST, "/v1/agents/register", token: "agent-token-0123456789",
                              body: #"{"id":"a1"}"#).status == 400)
            #expect(Self.call(node, .POST, "/v1/agents/a2/heartbeat", token: "any-agent-token-0123456789").status == 400,
                    "a * agent token acts as any agent")
        }
    }

    @Test func refusalsAreCountedByReasonAndNeverEchoTheToken() async throws {
        try await Self.withNode { node in
            let malformed = Self.call(node, .GET, "/v1/jobs", token: nil, authorization: "Basic b3BzOnNlY3JldA==")
            #expect(malformed.status == 401 && malformed.headers["WWW-Authenticate"]?.contains("invalid_token") == true)
            let expired = Self.call(node, .GET, "/v1/jobs", token: "expired-token-0123456789")
            #expect(String(decoding: expired.bodyBytes, as: UTF8.self).contains("expired"))
            _ = Self.call(node, .GET, "/v1/jobs", token: nil)
            _ = Self.call(node, .GET, "/v1/jobs", token: "wrong-token-0123456789")
            _ = Self.call(node, .POST, "/v1/jobs", token: "read-token-0123456789")
            let metrics = String(decoding: Self.call(node, .GET, "/metrics", token: "read-token-0123456789").bodyBytes, as: UTF8.self)
            for reason in ["missing", "malformed", "unknown", "expired", "forbidden"] {
                #expect(metrics.contains(#"fuller_http_auth_refusals_total{reason="\#(reason)"} 1"#), "\(reason)")
            }
            #expect(!metrics.contains("token-0123456789"))
        }
    }
}
