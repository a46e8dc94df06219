import JobStore
import Model
import Scheduler
import Shared

/// The API's JSON form of jobs and tasks.
enum Rendering {
    static func job(_ job: Job, taskCounts: [TaskState: Int], to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", job.id)
        w.field("state", job.state.rawValue)
        w.field("createdAt", Timestamp(millisecondsSinceEpoch: job.createdAtMs).rfc3339)
        w.field("updatedAt", Timestamp(millisecondsSinceEpoch: job.updatedAtMs).rfc3339)
        if let key = job.idempotencyKey { w.field("idempotencyKey", key) }
        w.key("spec"); job.spec.write(to: &w, redactingSecrets: true)
        w.key("taskCounts")
        w.beginObject()
        for state in TaskState.allCases { if let n = taskCounts[state], n > 0 { w.field(state.rawValue, n) } }
        w.endObject()
        w.endObject()
    }

    /// `pending`: why the scheduler's last iteration left the task waiting (agents per reason).
    static func task(_ t: JobTask, pending: [String: Int]? = nil, to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", t.id)
        w.field("jobId", t.jobId)
        w.field("index", t.index)
        w.field("attempt", t.attempt)
        w.field("state", t.state.rawValue)
        if let v = t.reason { w.field("reason", v.rawValue) }
        if let v = t.exitCode { w.field("exitCode", v) }
        if let v = t.message { w.field("message", v) }
        if let v = t.agentId { w.field("agentId", v) }
        if let v = t.containerId { w.field("containerId", v) }
        if let v = t.ip { w.field("ip", v) }
        if let v = t.health { w.field("health", v) }
        w.field("createdAt", Timestamp(millisecondsSinceEpoch: t.createdAtMs).rfc3339)
        w.field("updatedAt", Timestamp(millisecondsSinceEpoch: t.updatedAtMs).rfc3339)
        if t.notBeforeMs > 0 { w.field("notBefore", Timestamp(millisecondsSinceEpoch: t.notBeforeMs).rfc3339) }
        if let pending, t.state == .accepted {
            w.field("pendingReason", PlacementPlan.explain(pending))
            w.key("pendingReasons")
            w.beginObject()
            for reason in pending.keys.sorted() { w.field(reason, pending[reason]!) }
            w.endObject()
        }
        w.key("history")
        w.beginArray()
        for h in t.history {
            w.beginObject()
            w.field("state", h.state.rawValue)
            if let r = h.reason { w.field("reason", r.rawValue) }
            w.field("at", Timestamp(millisecondsSinceEpoch: h.atMs).rfc3339)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    static func json(_ status: Int, _ bytes: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h.set("Content-Type", "application/json")
        return HTTPResponse(status: status, headers: h, body: bytes)
    }
}

extension StoreError {
    /// The one JSON error envelope for a store refusal.
    var apiError: APIError {
        switch self {
        case let .notFound(kind, id): APIError(status: 404, code: "not_found", message: "\(kind) \(id) not found")
        case let .conflict(field, message): APIError(status: 409, code: "conflict", message: message, field: field)
        case let .invalid(e): APIError(status: 400, code: "invalid_argument", message: e.message, field: e.field)
        case let .limitExceeded(field, message): APIError(status: 429, code: "resource_exhausted", message: message, field: field)
        }
    }
}

extension ProposeError {
    var apiError: APIError {
        switch self {
        case .overloaded:
            APIError(status: 503, code: "unavailable", message: "too many writes queued; retry shortly")
        case .storageFailed(let reason):
            StorageHealth.apiError(StorageHealth.Failure(path: "", errno: nil, reason: reason))
        case .notLeader(let leader):
            APIError(status: 503, code: "unavailable", message: "not the leader" + (leader.map { "; the leader is \($0)" } ?? ""))
        case .tooLarge(let e):
            APIError(.payloadTooLarge, "the request encodes to \(e.bytes) bytes, over the limit of \(e.bytesMax)"
                     + (e.field.isEmpty ? "" : "; most of it is in \(e.field)"), field: e.field.isEmpty ? nil : e.field)
        }
    }
}

extension APIError {
    /// An envelope with a code of the master's own (e.g. `resource_exhausted`) and its status.
    init(status: Int, code: String, message: String, field: String? = nil) {
        self.init(Code(code, status: status), message, field: field)
    }
}
