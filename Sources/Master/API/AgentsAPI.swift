import JobStore
import Model
import Shared

/// The agent gateway (register, heartbeat) and the operators' agent routes.
struct AgentsAPI: Sendable {
    let registry: AgentRegistry
    let reports: ReportProcessor
    let placement: PlacementLoop
    let store: StoreHandle
    let nowMs: @Sendable () -> Int64
    let reconcile: ReconcileLoop

    static let heartbeatBytesMax = 4 << 20

    func register(on router: inout Router) {
        router.add(.POST, "/v1/agents/register") { request, _, respond in respond(registerAgent(request)) }
        router.add(.POST, "/v1/agents/{id}/heartbeat") { request, params, respond in
            heartbeat(request, agentId: params["id"] ?? "", respond)
        }
        router.add(.GET, "/v1/agents") { _, _, respond in respond(list()) }
        router.add(.GET, "/v1/agents/{id}") { _, params, respond in respond(get(params["id"] ?? "")) }
        router.add(.POST, "/v1/agents/{id}/drain") { request, params, respond in
            respond(drain(request, agentId: params["id"] ?? ""))
        }
    }

    private func registerAgent(_ request: HTTPRequest) -> HTTPResponse {
        do {
            let registration = try AgentRegistration(json: try RequestBody.json(request))
            if try registry.register(registration, nowMs: nowMs()) { placement.trigger(.capacity) }
            reconcile.registered(registration.id)
            var w = JSONWriter()
            w.beginObject()
            w.field("id", registration.id)
            w.field("heartbeatIntervalMilliseconds", registry.heartbeatIntervalMilliseconds)
            w.endObject()
            return Rendering.json(200, w.bytes)
        } catch let e as AgentRegistry.RegisterError {
            switch e {
            case .full(let max):
                return APIError(status: 429, code: "resource_exhausted", message: "\(max) agents are registered, the limit").response
            case .retired(let id):
                return APIError(status: 409, code: "conflict", message: "agent \(id) was terminated by the autoscaler", field: "id").response
            }
        } catch {
            return APIError.from(error).response
        }
    }

    private func heartbeat(_ request: HTTPRequest, agentId: String, _ respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let beat: HeartbeatRequest
        do { beat = try HeartbeatRequest(json: try RequestBody.json(request)) } catch {
            respond(APIError.from(error).response)
            return
        }
        let now = nowMs()
        let wasSchedulable = registry.entry(agentId).map { $0.healthy } ?? false
        reports.process(agentId: agentId, reports: beat.reports, nowMs: now)
        guard registry.heartbeat(agentId, beat, nowMs: now, respond: respond) else {
            respond(APIError(.notFound, "agent \(agentId) is not registered; register again").response)
            return
        }
        reconcile.observe(agentId, beat)
        if beat.healthy && !wasSchedulable { placement.trigger(.capacity) }
    }

    private func list() -> HTTPResponse {
        let entries = registry.entries()
        var w = JSONWriter(capacity: 256 + entries.count * 512)
        w.beginObject()
        w.key("items")
        w.beginArray()
        store.read { s in for entry in entries { render(entry, store: s, detail: false, to: &w) } }
        w.endArray()
        w.endObject()
        return Rendering.json(200, w.bytes)
    }

    private func get(_ id: String) -> HTTPResponse {
        guard let entry = registry.entry(id) else { return APIError(.notFound, "agent \(id) not found").response }
        var w = JSONWriter(capacity: 1_024)
        store.read { s in render(entry, store: s, detail: true, to: &w) }
        return Rendering.json(200, w.bytes)
    }

    private func drain(_ request: HTTPRequest, agentId: String) -> HTTPResponse {
        let enabled: Bool
        switch request.queryValue("enabled") {
        case nil, "true": enabled = true
        case "false": enabled = false
        default: return APIError.invalid("enabled", "must be true or false").response
        }
        guard registry.setDrain(agentId, enabled) else { return APIError(.notFound, "agent \(agentId) not found").response }
        if !enabled { placement.trigger(.capacity) }
        return get(agentId)
    }

    private func render(_ entry: AgentRegistry.Entry, store: JobStore, detail: Bool, to w: inout JSONWriter) {
        let r = entry.registration
        let tasks = store.tasks(onAgent: r.id)
        let used = store.agentLoads[r.id]?.used ?? .zero
        let silent = nowMs() - entry.lastHeartbeatMs > placement.agentSilentAfterMs
        w.beginObject()
        w.field("id", r.id); w.field("hostname", r.hostname); w.field("address", r.address)
        w.field("state", entry.drain ? "draining" : silent ? "silent" : entry.healthy ? "ready" : "unhealthy")
        if let message = entry.message { w.field("message", message) }
        w.key("attributes"); w.stringMap(r.attributes)
        w.key("resources"); r.resources.write(to: &w)
        w.key("used"); used.write(to: &w)
        w.field("registeredAt", Timestamp(millisecondsSinceEpoch: entry.registeredAtMs).rfc3339)
        w.field("lastHeartbeatAt", Timestamp(millisecondsSinceEpoch: entry.lastHeartbeatMs).rfc3339)
        w.field("taskCount", tasks.count)
        if detail {
            w.key("tasks")
            w.stringArray(tasks.map(\.id))
        }
        w.endObject()
    }
}
