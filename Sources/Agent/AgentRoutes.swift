import Model
import Shared

/// The agent's HTTP routes: `/healthz` (200 while the process lives), `/readyz` (200 when every
/// readiness check passes, else 503 saying which failed) and `/metrics` (Prometheus text).
enum AgentRoutes {
    /// One named condition of readiness, judged at request time. The agent wires Docker and the
    /// masters; other parts (the metadata server) add theirs with a name of their own.
    struct ReadinessCheck: Sendable {
        var name: String
        var judge: @Sendable () -> ReadinessResult

        init(_ name: String, _ judge: @escaping @Sendable () -> ReadinessResult) {
            self.name = name
            self.judge = judge
        }
    }

    /// Who may call the agent's API: probes are open, everything else is for the masters only
    /// (their `master` token, listed in the agent's `--token-file`; never the `peer` token, which
    /// would let a taken-over agent host speak Raft to the masters). A route added without a
    /// rule here is masters-only too.
    static let access = AccessPolicy([
        "GET /healthz": .open,
        "GET /readyz": .open,
        // Prometheus scrapes with a `read` token from the agent's token file, or the masters' token.
        "GET /metrics": .roles([.read, .submit, .admin, .master]),
    ], fallback: .master)

    /// Why an agent refuses to start with a token file holding these roles, or nil: a `peer`
    /// token speaks Raft to the masters, so an agent host must never hold one (DESIGN: agents
    /// hold credentials that open the agent routes alone).
    static func tokenFileRefusal(_ roles: Set<TokenRole>) -> String? {
        guard roles.contains(.peer) else { return nil }
        return "lists a peer token, which opens the masters' Raft port to whoever reads this host; list the masters' `master` token instead"
    }

    /// A check's verdict and, when it fails (or has something to show), why.
    struct ReadinessResult: Sendable, Equatable {
        var ok: Bool
        var message: String?
        /// Extra facts for operators (the master's URL), written as strings.
        var details: [String: String] = [:]
    }

    /// Docker answered the agent's last call.
    static func dockerCheck(_ health: @escaping @Sendable () -> DockerHealth) -> ReadinessCheck {
        ReadinessCheck("docker") {
            let docker = health()
            return ReadinessResult(ok: docker.available, message: docker.message)
        }
    }

    /// Registered with a master, and the last call to the masters was answered.
    static func masterCheck(_ status: @escaping @Sendable () -> HeartbeatLoop.Status) -> ReadinessCheck {
        ReadinessCheck("master") {
            let master = status()
            let message = master.lastError ?? (master.registered ? nil : "not registered yet")
            var details: [String: String] = [:]
            details["url"] = master.master
            return ReadinessResult(ok: master.registered && master.lastError == nil, message: message, details: details)
        }
    }

    /// `{"status":"ready"|"unavailable","checks":{"docker":{"ok":true},…}}`, checks in the order given.
    static func readinessJSON(_ results: [(name: String, result: ReadinessResult)]) -> (ready: Bool, body: [UInt8]) {
        let ready = results.allSatisfy(\.result.ok)
        var w = JSONWriter()
        w.beginObject()
        w.field("status", ready ? "ready" : "unavailable")
        w.key("checks"); w.beginObject()
        for (name, result) in results {
            w.key(name); w.beginObject()
            w.field("ok", result.ok)
            if let message = result.message { w.field("message", message) }
            for key in result.details.keys.sorted() { w.field(key, result.details[key]!) }
            w.endObject()
        }
        w.endObject()
        w.endObject()
        return (ready, w.bytes)
    }

    static func router(readiness checks: [ReadinessCheck] = [], metrics: MetricsRegistry = MetricsRegistry()) -> Router {
        var router = Router()
        router.add(.GET, "/healthz") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8)))
        }
        router.add(.GET, "/readyz") { _, _, respond in
            let (ready, body) = readinessJSON(checks.map { ($0.name, $0.judge()) })
            respond(HTTPResponse(status: ready ? 200 : 503, headers: ["Content-Type": "application/json"], body: body))
        }
        router.add(.GET, "/metrics") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                 body: Array(metrics.exposition().utf8)))
        }
        return router
    }
}
