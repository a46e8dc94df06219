import JobStore
import Model
import Shared

/// Health, readiness, metrics and cluster routes.
struct SystemAPI: Sendable {
    let nodeId: String
    let apiAddress: String
    let store: StoreHandle
    let metrics: MasterMetrics

    func register(on router: inout Router) {
        router.add(.GET, "/healthz") { _, _, respond in
            respond(Rendering.json(200, Array(#"{"status":"ok"}"#.utf8)))
        }
        // One node: it is its own leader and has applied everything it recovered before listening.
        router.add(.GET, "/readyz") { _, _, respond in
            respond(Rendering.json(200, Array(#"{"status":"ready"}"#.utf8)))
        }
        router.add(.GET, "/metrics") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                 body: Array(metrics.registry.exposition().utf8)))
        }
        router.add(.GET, "/v1/cluster") { _, _, respond in respond(cluster()) }
    }

    private func cluster() -> HTTPResponse {
        let applied = store.read { $0.appliedIndex }
        var w = JSONWriter()
        w.beginObject()
        w.key("members")
        w.beginArray()
        w.beginObject()
        w.field("id", nodeId)
        w.field("apiAddress", apiAddress)
        w.field("role", "leader")
        w.endObject()
        w.endArray()
        w.field("leader", nodeId)
        w.field("term", 0)
        w.field("commitIndex", applied)
        w.field("appliedIndex", applied)
        w.endObject()
        return Rendering.json(200, w.bytes)
    }
}
