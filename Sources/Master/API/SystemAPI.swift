import JobStore
import Model
import Shared

/// Health, readiness, metrics and cluster routes.
struct SystemAPI: Sendable {
    let leadership: Leadership
    let store: StoreHandle
    let metrics: MasterMetrics

    func register(on router: inout Router) {
        router.add(.GET, "/healthz") { _, _, respond in
            respond(Rendering.json(200, Array(#"{"status":"ok"}"#.utf8)))
        }
        // Ready once a leader is known and everything known committed is applied (a single
        // master is its own leader and recovered before it listened).
        router.add(.GET, "/readyz") { _, _, respond in
            if leadership.isReady {
                respond(Rendering.json(200, Array(#"{"status":"ready"}"#.utf8)))
            } else {
                respond(APIError(.unavailable, "no leader known yet, or the log is not applied yet").response)
            }
        }
        router.add(.GET, "/metrics") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                 body: Array(metrics.registry.exposition().utf8)))
        }
        router.add(.GET, "/v1/cluster") { _, _, respond in respond(cluster()) }
    }

    private func cluster() -> HTTPResponse {
        Rendering.json(200, leadership.clusterJSON(appliedIndex: store.read { $0.appliedIndex }))
    }
}
