import Model
import Shared

/// The agent's HTTP routes: `/healthz` (200 while the process lives) and `/readyz` (200 when
/// Docker answers and a master has registered the agent, else 503 saying which is missing).
enum AgentRoutes {
    /// What `/readyz` judges.
    struct Readiness: Sendable {
        var docker: DockerHealth
        var master: HeartbeatLoop.Status

        var isReady: Bool { docker.available && master.registered }

        var json: [UInt8] {
            var w = JSONWriter()
            w.beginObject()
            w.field("status", isReady ? "ready" : "unavailable")
            w.key("docker"); w.beginObject()
            w.field("available", docker.available)
            if let message = docker.message { w.field("message", message) }
            w.endObject()
            w.key("master"); w.beginObject()
            w.field("registered", master.registered)
            if let url = master.master { w.field("url", url) }
            if let error = master.lastError { w.field("error", error) }
            w.endObject()
            w.endObject()
            return w.bytes
        }
    }

    /// Who may call the agent's API: probes are open, everything else is for the masters only
    /// (their `peer` tokens, listed in the agent's `--token-file`). A route added without a rule
    /// here is masters-only too.
    static let access = AccessPolicy([
        "GET /healthz": .open,
        "GET /readyz": .open,
    ], fallback: .peer)

    static func router(readiness: @escaping @Sendable () -> Readiness = {
        Readiness(docker: .unknown, master: HeartbeatLoop.Status())
    }) -> Router {
        var router = Router()
        router.add(.GET, "/healthz") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8)))
        }
        router.add(.GET, "/readyz") { _, _, respond in
            let state = readiness()
            respond(HTTPResponse(status: state.isReady ? 200 : 503, headers: ["Content-Type": "application/json"], body: state.json))
        }
        return router
    }
}
