/// JSON for the agent protocol. Decoding is strict (unknown fields rejected, types checked) on
/// both sides, so a mismatched master and agent fail loudly instead of half-understanding.
extension AgentRegistration {
    public init(json value: JSONValue) throws(FieldError) {
        var r = try ObjectReader(value, path: "")
        guard var res = try r.object("resources") else { throw FieldError(field: "resources", message: "is required") }
        guard let cpu = try res.double("cpu") else { throw FieldError(field: "resources.cpu", message: "is required") }
        let resources = Resources(cpu: cpu, memoryMB: try res.requiredInt("memoryMB"), diskMB: try res.int("diskMB") ?? 0,
                                  networkMbps: try res.int("networkMbps") ?? 0)
        try res.finish()
        self.init(id: try r.requiredString("id"), hostname: try r.requiredString("hostname"),
                  address: try r.requiredString("address"),
                  attributes: try JobSpec.dictionary(r.stringMap("attributes"), path: "attributes"), resources: resources)
        try r.finish()
        try Check.name(id, field: "id", max: 128)
        guard resources.cpu.isFinite, resources.cpu > 0, resources.memoryMB > 0 else {
            throw FieldError(field: "resources", message: "cpu and memoryMB must be positive")
        }
        guard resources.cpu <= Self.cpuMax else {
            throw FieldError(field: "resources.cpu", message: "at most \(Int(Self.cpuMax)) cores")
        }
        try Check.range(resources.memoryMB, 1...Self.memoryMBMax, field: "resources.memoryMB")
        try Check.range(resources.diskMB, 0...Self.diskMBMax, field: "resources.diskMB")
        try Check.range(resources.networkMbps, 0...Self.networkMbpsMax, field: "resources.networkMbps")
    }

    /// The most one agent may offer, far beyond any machine: the scheduler adds up every agent's
    /// offer, and a million agents at these bounds still fit in an `Int` (two agents claiming
    /// about 2^62 MB each once overflowed that sum on the leader, and on each one after it).
    public static let cpuMax = 1_048_576.0
    public static let memoryMBMax = 1 << 36
    public static let diskMBMax = 1 << 40
    public static let networkMbpsMax = 1 << 36

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", id); w.field("hostname", hostname); w.field("address", address)
        w.key("attributes"); w.stringMap(attributes)
        w.key("resources"); resources.write(to: &w)
        w.endObject()
    }
}

extension Resources {
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("cpu", cpu); w.field("memoryMB", memoryMB); w.field("diskMB", diskMB); w.field("networkMbps", networkMbps)
        w.endObject()
    }
}

extension HeartbeatRequest {
    public init(json value: JSONValue) throws(FieldError) {
        var r = try ObjectReader(value, path: "")
        self.init(sequence: UInt64(max(0, try r.requiredInt("sequence"))),
                  assignmentsVersion: UInt64(max(0, try r.int("assignmentsVersion") ?? 0)),
                  healthy: try r.bool("healthy") ?? true, message: try r.string("message"),
                  unknownContainers: try r.stringArray("unknownContainers") ?? [],
                  waitMilliseconds: try r.int("waitMilliseconds") ?? 0)
        if case .array(let items)? = r.value("reports") {
            reports = try items.enumerated().map { (i, v) throws(FieldError) in try TaskReport(json: v, path: "reports[\(i)]") }
        } else if r.value("reports") != nil {
            throw FieldError(field: "reports", message: "expected an array")
        }
        try r.finish()
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + reports.count * 128)
        w.beginObject()
        w.field("sequence", sequence); w.field("assignmentsVersion", assignmentsVersion); w.field("healthy", healthy)
        if let message { w.field("message", message) }
        w.key("reports"); w.beginArray(); for report in reports { report.write(to: &w) }; w.endArray()
        w.key("unknownContainers"); w.stringArray(unknownContainers)
        w.field("waitMilliseconds", waitMilliseconds)
        w.endObject()
        return w.bytes
    }
}

extension TaskReport {
    /// The most bytes of a report's ids, address and health (a Docker id is 64 hex digits). A
    /// report becomes a log command; its message is cut to size by the master instead.
    public static let fieldBytesMax = 256

    public init(json value: JSONValue, path: String) throws(FieldError) {
        var r = try ObjectReader(value, path: path)
        let stateText = try r.requiredString("state")
        guard let state = TaskState(rawValue: stateText) else { throw FieldError(field: r.fieldPath("state"), message: "unknown state \"\(stateText)\"") }
        var reason: FinishReason?
        if let text = try r.string("reason") {
            guard let value = FinishReason(rawValue: text) else { throw FieldError(field: r.fieldPath("reason"), message: "unknown reason \"\(text)\"") }
            reason = value
        }
        self.init(taskId: try r.requiredString("taskId"), state: state, containerId: try r.string("containerId"),
                  ip: try r.string("ip"), exitCode: try r.int("exitCode"), reason: reason, message: try r.string("message"),
                  health: try r.string("health"))
        for (key, text) in [("taskId", taskId), ("containerId", containerId), ("ip", ip), ("health", health)] {
            guard let text, text.utf8.count > Self.fieldBytesMax else { continue }
            throw FieldError(field: r.fieldPath(key), message: "at most \(Self.fieldBytesMax) bytes")
        }
        try r.finish()
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("taskId", taskId); w.field("state", state.rawValue)
        if let containerId { w.field("containerId", containerId) }
        if let ip { w.field("ip", ip) }
        if let exitCode { w.field("exitCode", exitCode) }
        if let reason { w.field("reason", reason.rawValue) }
        if let message { w.field("message", message) }
        if let health { w.field("health", health) }
        w.endObject()
    }
}

extension HeartbeatResponse {
    public init(json value: JSONValue) throws(FieldError) {
        var r = try ObjectReader(value, path: "")
        self.init(assignmentsVersion: UInt64(max(0, try r.requiredInt("assignmentsVersion"))), assignments: [],
                  kills: try r.stringArray("kills") ?? [], drain: try r.bool("drain") ?? false,
                  intervalMilliseconds: try r.requiredInt("intervalMilliseconds"))
        if case .array(let items)? = r.value("assignments") {
            assignments = try items.enumerated().map { (i, v) throws(FieldError) in try TaskAssignment(json: v, path: "assignments[\(i)]") }
        }
        try r.finish()
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + assignments.count * 768)
        w.beginObject()
        w.field("assignmentsVersion", assignmentsVersion)
        w.key("assignments"); w.beginArray(); for a in assignments { a.write(to: &w) }; w.endArray()
        w.key("kills"); w.stringArray(kills)
        w.field("drain", drain)
        w.field("intervalMilliseconds", intervalMilliseconds)
        w.endObject()
        return w.bytes
    }
}

extension TaskAssignment {
    public init(json value: JSONValue, path: String) throws(FieldError) {
        var r = try ObjectReader(value, path: path)
        guard let container = try r.object("container") else { throw FieldError(field: r.fieldPath("container"), message: "is required") }
        self.init(taskId: try r.requiredString("taskId"), jobId: try r.requiredString("jobId"), index: try r.requiredInt("index"),
                  attempt: try r.int("attempt") ?? 0, container: try ContainerSpec(reader: container),
                  runtimeLimitSeconds: try r.int("runtimeLimitSeconds"))
        try r.finish()
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("taskId", taskId); w.field("jobId", jobId); w.field("index", index); w.field("attempt", attempt)
        w.key("container"); container.write(to: &w)
        if let runtimeLimitSeconds { w.field("runtimeLimitSeconds", runtimeLimitSeconds) }
        w.endObject()
    }
}
