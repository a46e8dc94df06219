import Model
import Shared

/// Who may call which master route: the one table for the client API and the one for the peer
/// port. A route added without a rule here is admin-only, and `MasterAccessTests` fails until
/// it gets one (and docs/security.md's table says what it is).
enum MasterAccess {
    static let api = AccessPolicy([
        "GET /healthz": .open,
        "GET /readyz": .open,
        "GET /metrics": .read,
        "GET /v1/cluster": .read,
        "GET /v1/autoscaler": .read,
        "POST /v1/cluster/members": .admin,
        "DELETE /v1/cluster/members/{id}": .admin,
        "GET /v1/events": .read,
        "POST /v1/jobs": .submit,
        "GET /v1/jobs": .read,
        "GET /v1/jobs/{id}": .read,
        "DELETE /v1/jobs/{id}": .submit,
        "PUT /v1/jobs/{id}/capacity": .submit,
        "GET /v1/tasks": .read,
        "GET /v1/tasks/{id}": .read,
        "DELETE /v1/tasks/{id}": .submit,
        "GET /v1/agents": .read,
        "GET /v1/agents/{id}": .read,
        "POST /v1/agents/{id}/drain": .admin,
        "POST /v1/agents/register": .agent,
        "POST /v1/agents/{id}/heartbeat": .agent,
    ])

    /// The peer port carries only Raft's messages, from masters.
    static let peer = AccessPolicy([
        "POST \(PeerTransport.path)": .peer,
        "POST \(PeerTransport.chunkPath)": .peer,
    ], fallback: .peer)

    /// An agent token named after an agent id registers and heartbeats as that agent only; one
    /// named `*` (a group of agents sharing a token) as any.
    static func agentIdentity(_ principal: Principal, _ request: HTTPRequest, _ parameters: PathParameters) -> APIError? {
        guard principal.role == .agent, principal.name != Principal.anyAgent else { return nil }
        let claimed: String?
        if let id = parameters["id"] {
            claimed = id
        } else if case .string(let id)? = (try? JSONParser.parse(request.body))?["id"] {
            claimed = id
        } else {
            return nil   // no id: the route itself rejects the body
        }
        guard claimed != principal.name else { return nil }
        return APIError(.permissionDenied, "the token of agent \(principal.name) may not act as agent \(claimed ?? "")")
    }

    /// The gate for the client API: tokens, then (on a replicated master) `LeaderGate`.
    static func apiGate(router: Router, next: any HTTPHandler, authenticator: Authenticator?,
                        metrics: MasterMetrics) -> any HTTPHandler {
        AuthGate(router: router, next: next, policy: api, authenticator: authenticator, check: agentIdentity,
                 onRefused: { metrics.observeRefusal($0) })
    }
}
