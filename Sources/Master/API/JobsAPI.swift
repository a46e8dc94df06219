import Foundation
import JobStore
import Model
import Shared

/// The v1 job and task routes. Reads answer from the applied store under its lock, without any
/// thread hop; writes become commands proposed to the log and answer once applied.
struct JobsAPI: Sendable {
    let store: StoreHandle
    let replicator: any Replicator
    /// Wall-clock milliseconds; commands carry the time so apply stays deterministic.
    let nowMs: @Sendable () -> Int64
    let newJobID: @Sendable () -> String
    /// Why a waiting task was not placed in the scheduler's last iteration (agents per reason).
    var pendingReasons: @Sendable (String) -> [String: Int]? = { _ in nil }
    /// What jobs may ask for beyond an ordinary container (privileged, host mounts).
    var policy = JobPolicy()
    /// Who sent a request (its token's principal); nil when the API takes no tokens.
    var principal: @Sendable (HTTPRequest) -> Principal? = { _ in nil }

    static let listLimitDefault = 100
    static let listLimitMax = 1_000
    static let idempotencyKeyBytesMax = 255

    typealias Respond = @Sendable (HTTPResponse) -> Void

    func register(on router: inout Router) {
        router.add(.POST, "/v1/jobs") { request, _, respond in submit(request, respond) }
        router.add(.GET, "/v1/jobs") { request, _, respond in respond(listJobs(request)) }
        router.add(.GET, "/v1/jobs/{id}") { _, params, respond in respond(getJob(params["id"] ?? "")) }
        router.add(.DELETE, "/v1/jobs/{id}") { _, params, respond in
            propose(.killJob(jobId: params["id"] ?? "", atMs: nowMs()), status: 200, respond)
        }
        router.add(.PUT, "/v1/jobs/{id}/capacity") { request, params, respond in
            setCapacity(request, jobId: params["id"] ?? "", respond)
        }
        router.add(.GET, "/v1/tasks") { request, _, respond in respond(listTasks(request)) }
        router.add(.GET, "/v1/tasks/{id}") { _, params, respond in respond(getTask(params["id"] ?? "")) }
        router.add(.DELETE, "/v1/tasks/{id}") { request, params, respond in
            killTask(request, taskId: params["id"] ?? "", respond)
        }
    }

    // MARK: Writes

    private func submit(_ request: HTTPRequest, _ respond: @escaping Respond) {
        do {
            let spec = try JobSpec(json: try RequestBody.json(request))
            try spec.validate()
            if let refusal = policy.refusal(spec.container) {
                throw APIError(.permissionDenied, refusal.message, field: refusal.field)
            }
            let key = try idempotencyKey(request)
            let scope = key == nil ? nil : Self.idempotencyScope(principal(request), spec: spec)
            propose(.createJob(jobId: newJobID(), spec: spec, idempotencyKey: key, idempotencyScope: scope, atMs: nowMs()),
                    status: 201, respond)
        } catch {
            respond(APIError.from(error).response)
        }
    }

    private func idempotencyKey(_ request: HTTPRequest) throws(APIError) -> String? {
        guard let key = request.headers["Idempotency-Key"] else { return nil }
        guard !key.isEmpty, key.utf8.count <= Self.idempotencyKeyBytesMax,
              key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIError(status: 400, code: "invalid_argument",
                           message: "must be 1 to \(Self.idempotencyKeyBytesMax) printable ASCII characters", field: "Idempotency-Key")
        }
        return key
    }

    /// Whose `Idempotency-Key` a submit's is: keys of different callers never meet. With tokens,
    /// the caller is the token's name (a job's `owner` field is whatever the caller wrote);
    /// without, the job's `owner`, the only identity a request has.
    static func idempotencyScope(_ principal: Principal?, spec: JobSpec) -> String {
        if let principal { return "token:" + principal.name }
        return "owner:" + spec.owner
    }

    private func setCapacity(_ request: HTTPRequest, jobId: String, _ respond: @escaping Respond) {
        do {
            var reader = try ObjectReader(try RequestBody.json(request), path: "")
            let capacity = try Capacity(reader: &reader)
            try capacity.validate(limits: JobLimits(), field: "capacity")
            propose(.setCapacity(jobId: jobId, capacity: capacity, atMs: nowMs()), status: 200, respond)
        } catch {
            respond(APIError.from(error).response)
        }
    }

    private func killTask(_ request: HTTPRequest, taskId: String, _ respond: @escaping Respond) {
        let shrink: Bool
        switch request.queryValue("shrink") {
        case nil, "false": shrink = false
        case "true": shrink = true
        default:
            respond(APIError(status: 400, code: "invalid_argument", message: "must be true or false", field: "shrink").response)
            return
        }
        propose(.killTask(taskId: taskId, shrink: shrink, atMs: nowMs()), status: 200, respond)
    }

    /// Proposes `command` and answers with the applied result.
    private func propose(_ command: Command, status: Int, _ respond: @escaping Respond) {
        let store = self.store
        replicator.propose(command) { result in
            switch result {
            case .failure(let e): respond(e.apiError.response)
            case .success(.rejected(let e)): respond(e.apiError.response)
            case .success(.job(let job, let replayed)):
                var w = JSONWriter(capacity: 1_024)
                Rendering.job(job, taskCounts: store.read { $0.taskCounts(ofJob: job.id) }, to: &w)
                var headers: HTTPHeaders = ["Location": "/v1/jobs/\(job.id)"]
                if replayed { headers.add("Idempotent-Replayed", "true") }
                respond(Rendering.json(status, w.bytes, headers: headers))
            case .success(.task(let task)):
                var w = JSONWriter(capacity: 512)
                Rendering.task(task, to: &w)
                respond(Rendering.json(status == 201 ? 200 : status, w.bytes))
            case .success(.master):
                preconditionFailure("a job command applied as a membership record")
            }
        }
    }

    // MARK: Reads

    private func getJob(_ id: String) -> HTTPResponse {
        let found: (Job, [TaskState: Int])? = store.read { s in s.job(id).map { ($0, s.taskCounts(ofJob: id)) } }
        guard let (job, counts) = found else { return APIError(status: 404, code: "not_found", message: "job \(id) not found").response }
        var w = JSONWriter(capacity: 1_024)
        Rendering.job(job, taskCounts: counts, to: &w)
        return Rendering.json(200, w.bytes)
    }

    private func getTask(_ id: String) -> HTTPResponse {
        guard let task = store.read({ $0.task(id) }) else {
            return APIError(status: 404, code: "not_found", message: "task \(id) not found").response
        }
        var w = JSONWriter(capacity: 512)
        Rendering.task(task, pending: pendingReasons(task.id), to: &w)
        return Rendering.json(200, w.bytes)
    }

    private func listJobs(_ request: HTTPRequest) -> HTTPResponse {
        do {
            var filter = JobStore.JobFilter()
            if let t = request.queryValue("type") {
                guard let type = JobType(rawValue: t) else { throw APIError.invalid("type", "must be batch or service") }
                filter.type = type
            }
            if let s = request.queryValue("state") {
                guard let state = JobState(rawValue: s) else { throw APIError.invalid("state", "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))") }
                filter.state = state
            }
            for item in request.query where item.name == "label" {
                let parts = item.value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else { throw APIError.invalid("label", "must be key=value") }
                filter.labels.append((String(parts[0]), String(parts[1])))
            }
            let (after, limit) = try paging(request)
            let page = store.read { s in
                let page = s.listJobs(filter: filter, after: after, limit: limit)
                return (page, page.items.map { s.taskCounts(ofJob: $0.id) })
            }
            var w = JSONWriter(capacity: 256 + page.0.items.count * 1_024)
            w.beginObject()
            w.key("items")
            w.beginArray()
            for (job, counts) in zip(page.0.items, page.1) { Rendering.job(job, taskCounts: counts, to: &w) }
            w.endArray()
            if let next = page.0.nextCursor { w.field("nextCursor", String(next)) }
            w.endObject()
            return Rendering.json(200, w.bytes)
        } catch {
            return APIError.from(error).response
        }
    }

    private func listTasks(_ request: HTTPRequest) -> HTTPResponse {
        do {
            var state: TaskState?
            if let s = request.queryValue("state") {
                guard let st = TaskState(rawValue: s) else { throw APIError.invalid("state", "must be one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", "))") }
                state = st
            }
            let jobId = request.queryValue("jobId")
            let (after, limit) = try paging(request)
            let page = try store.read { (s: JobStore) throws(APIError) -> JobStore.Page<JobTask> in
                if let jobId, s.job(jobId) == nil { throw APIError(status: 404, code: "not_found", message: "job \(jobId) not found", field: "jobId") }
                return s.listTasks(jobId: jobId, state: state, after: after, limit: limit)
            }
            var w = JSONWriter(capacity: 256 + page.items.count * 512)
            w.beginObject()
            w.key("items")
            w.beginArray()
            for task in page.items { Rendering.task(task, pending: pendingReasons(task.id), to: &w) }
            w.endArray()
            if let next = page.nextCursor { w.field("nextCursor", String(next)) }
            w.endObject()
            return Rendering.json(200, w.bytes)
        } catch {
            return APIError.from(error).response
        }
    }

    private func paging(_ request: HTTPRequest) throws(APIError) -> (after: UInt64, limit: Int) {
        var limit = Self.listLimitDefault
        if let l = request.queryValue("limit") {
            guard let n = Int(l), (1...Self.listLimitMax).contains(n) else {
                throw APIError.invalid("limit", "must be an integer from 1 to \(Self.listLimitMax)")
            }
            limit = n
        }
        var after: UInt64 = 0
        // An empty `cursor=` is no cursor: the first page (a client looping on `nextCursor`).
        if let c = request.queryValue("cursor"), !c.isEmpty {
            guard let n = UInt64(c) else { throw APIError.invalid("cursor", "is not a cursor this server returned") }
            after = n
        }
        return (after, limit)
    }
}

extension APIError {
    static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(status: 400, code: "invalid_argument", message: message, field: field)
    }
}

/// Request bodies: JSON only, and never empty.
enum RequestBody {
    /// JSON media types, plus the form type `curl -d` sends by default: the body is parsed as
    /// JSON either way, and refusing curl's default would only trip people up.
    static func acceptsAsJSON(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" || type == "text/json" || type == "application/x-www-form-urlencoded"
            || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    static func json(_ request: HTTPRequest) throws(APIError) -> JSONValue {
        if let type = request.headers["Content-Type"], !acceptsAsJSON(type) {
            throw APIError(status: 415, code: "unsupported_media_type", message: "send application/json", field: "Content-Type")
        }
        guard !request.body.isEmpty else { throw APIError(status: 400, code: "invalid_argument", message: "a JSON body is required") }
        do { return try JSONParser.parse(request.body) } catch {
            throw APIError(status: 400, code: "invalid_argument", message: error.description)
        }
    }
}

extension APIError {
    /// The envelope for any error a handler caught: API errors as they are, anything else a 500.
    static func from(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? FieldError { return APIError.invalid(e.field, e.message) }
        return APIError(status: 500, code: "internal", message: "\(error)")
    }
}
