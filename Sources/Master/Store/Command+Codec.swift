import Model

/// The log's encoding of commands: one JSON object per entry. JSON keeps the WAL readable with
/// standard tools; the encoder is Fuller's own, so it is fast and its output is stable.
extension Command {
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        switch self {
        case let .createJob(jobId, spec, key, scope, atMs):
            w.field("op", "createJob"); w.field("jobId", jobId); w.key("spec"); spec.write(to: &w)
            if let key { w.field("idempotencyKey", key) }
            if let scope { w.field("idempotencyScope", scope) }
            w.field("at", atMs)
        case let .killJob(jobId, atMs):
            w.field("op", "killJob"); w.field("jobId", jobId); w.field("at", atMs)
        case let .setCapacity(jobId, capacity, atMs):
            w.field("op", "setCapacity"); w.field("jobId", jobId); w.key("capacity"); capacity.write(to: &w)
            w.field("at", atMs)
        case let .killTask(taskId, shrink, atMs):
            w.field("op", "killTask"); w.field("taskId", taskId); w.field("shrink", shrink); w.field("at", atMs)
        case let .updateTask(u):
            w.field("op", "updateTask"); w.field("taskId", u.taskId); w.field("state", u.state.rawValue)
            if let v = u.reason { w.field("reason", v.rawValue) }
            if let v = u.exitCode { w.field("exitCode", v) }
            if let v = u.message { w.field("message", v) }
            if let v = u.agentId { w.field("agentId", v) }
            if let v = u.containerId { w.field("containerId", v) }
            if let v = u.ip { w.field("ip", v) }
            if let v = u.health { w.field("health", v) }
            if let v = u.agentTotal {
                w.field("agentCpu", v.cpu); w.field("agentMemoryMB", v.memoryMB)
                w.field("agentDiskMB", v.diskMB); w.field("agentNetworkMbps", v.networkMbps)
            }
            w.field("at", u.atMs)
        case let .setMasterAddress(name, address, atMs):
            w.field("op", "setMasterAddress"); w.field("name", name); w.field("peerAddress", address); w.field("at", atMs)
        case let .forgetMaster(name, atMs):
            w.field("op", "forgetMaster"); w.field("name", name); w.field("at", atMs)
        }
        w.endObject()
        return w.bytes
    }

    /// Decodes a log entry. A failure here means the log holds something this build did not write.
    public init(encoded bytes: [UInt8]) throws(FieldError) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw FieldError(field: "", message: error.description) }
        var r = try ObjectReader(value, path: "")
        let op = try r.requiredString("op")
        let at = Int64(try r.requiredInt("at"))
        switch op {
        case "createJob":
            guard let spec = r.value("spec") else { throw FieldError(field: "spec", message: "is required") }
            self = .createJob(jobId: try r.requiredString("jobId"), spec: try JobSpec(json: spec),
                              idempotencyKey: try r.string("idempotencyKey"),
                              idempotencyScope: try r.string("idempotencyScope"), atMs: at)
        case "killJob": self = .killJob(jobId: try r.requiredString("jobId"), atMs: at)
        case "setCapacity":
            guard var c = try r.object("capacity") else { throw FieldError(field: "capacity", message: "is required") }
            self = .setCapacity(jobId: try r.requiredString("jobId"), capacity: try Capacity(reader: &c), atMs: at)
        case "killTask":
            self = .killTask(taskId: try r.requiredString("taskId"), shrink: try r.bool("shrink") ?? false, atMs: at)
        case "updateTask":
            self = .updateTask(TaskUpdate(
                taskId: try r.requiredString("taskId"), state: try r.enumValue("state", TaskState.self),
                reason: try r.optionalEnum("reason", FinishReason.self), exitCode: try r.int("exitCode"),
                message: try r.string("message"), agentId: try r.string("agentId"),
                containerId: try r.string("containerId"), ip: try r.string("ip"),
                health: try r.string("health"), agentTotal: try r.agentTotal(), atMs: at))
        case "setMasterAddress":
            self = .setMasterAddress(name: try r.requiredString("name"), peerAddress: try r.requiredString("peerAddress"), atMs: at)
        case "forgetMaster": self = .forgetMaster(name: try r.requiredString("name"), atMs: at)
        default: throw FieldError(field: "op", message: "unknown command \"\(op)\"")
        }
        try r.finish()
    }
}

extension ObjectReader {
    mutating func enumValue<E: RawRepresentable>(_ key: String, _: E.Type) throws(FieldError) -> E where E.RawValue == String {
        guard let e = try optionalEnum(key, E.self) else { throw FieldError(field: fieldPath(key), message: "is required") }
        return e
    }

    mutating func optionalEnum<E: RawRepresentable>(_ key: String, _: E.Type) throws(FieldError) -> E? where E.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let e = E(rawValue: text) else { throw FieldError(field: fieldPath(key), message: "unknown value \"\(text)\"") }
        return e
    }

    /// The agent capacity a placement carries (`TaskUpdate.agentTotal`), if any.
    mutating func agentTotal() throws(FieldError) -> Resources? {
        guard let cpu = try double("agentCpu") else { return nil }
        return Resources(cpu: cpu, memoryMB: try int("agentMemoryMB") ?? 0, diskMB: try int("agentDiskMB") ?? 0,
                         networkMbps: try int("agentNetworkMbps") ?? 0)
    }
}
