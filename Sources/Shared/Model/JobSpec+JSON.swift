/// The JSON form of a job spec. Decoding is strict about structure (types, required members,
/// unknown members); range rules live in `JobSpec+Validation.swift` so that a stored spec always
/// decodes even if a later release tightens validation.
extension JobSpec {
    public init(json value: JSONValue) throws(FieldError) {
        var r = try ObjectReader(value, path: "")
        let typeText = try r.requiredString("type")
        guard let type = JobType(rawValue: typeText) else {
            throw FieldError(field: "type", message: "must be one of batch, service; got \"\(typeText)\"")
        }
        let tierText = try r.string("tier") ?? Tier.flex.rawValue
        guard let tier = Tier(rawValue: tierText) else {
            throw FieldError(field: "tier", message: "must be one of critical, flex; got \"\(tierText)\"")
        }
        guard let containerReader = try r.object("container") else { throw FieldError(field: "container", message: "is required") }
        self.init(name: try r.requiredString("name"), owner: try r.requiredString("owner"), type: type,
                  capacityGroup: try r.string("capacityGroup") ?? "default", tier: tier,
                  labels: try JobSpec.dictionary(r.stringMap("labels"), path: "labels"),
                  container: try ContainerSpec(reader: containerReader))
        if var b = try r.object("batch") { batch = try BatchSpec(reader: &b) }
        if var s = try r.object("service") { service = try ServiceSpec(reader: &s) }
        if var c = try r.object("constraints") {
            constraints = Constraints(hard: try JobSpec.dictionary(c.stringMap("hard"), path: "constraints.hard"),
                                      soft: try JobSpec.dictionary(c.stringMap("soft"), path: "constraints.soft"))
            try c.finish()
        }
        if var d = try r.object("disruptionBudget") { disruptionBudget = try DisruptionBudget(reader: &d) }
        try r.finish()
    }

    static func dictionary(_ pairs: [(String, String)]?, path: String) throws(FieldError) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in pairs ?? [] { out[k] = v }
        return out
    }

    /// `redactingSecrets` for API answers: see `ContainerSpec.write`.
    public func write(to w: inout JSONWriter, redactingSecrets: Bool = false) {
        w.beginObject()
        w.field("name", name)
        w.field("owner", owner)
        w.field("type", type.rawValue)
        w.field("capacityGroup", capacityGroup)
        w.field("tier", tier.rawValue)
        w.key("labels"); w.stringMap(labels)
        w.key("container"); container.write(to: &w, redactingSecrets: redactingSecrets)
        if let batch { w.key("batch"); batch.write(to: &w) }
        if let service { w.key("service"); service.write(to: &w) }
        w.key("constraints")
        w.beginObject()
        w.key("hard"); w.stringMap(constraints.hard)
        w.key("soft"); w.stringMap(constraints.soft)
        w.endObject()
        if let disruptionBudget { w.key("disruptionBudget"); disruptionBudget.write(to: &w) }
        w.endObject()
    }
}

extension JSONWriter {
    /// A string map with its keys sorted, so equal maps encode to equal bytes.
    public mutating func stringMap(_ map: [String: String]) {
        beginObject()
        for k in map.keys.sorted() { field(k, map[k]!) }
        endObject()
    }

    public mutating func stringArray(_ values: [String]) {
        beginArray()
        for v in values { string(v) }
        endArray()
    }
}

extension ContainerSpec {
    init(reader: ObjectReader) throws(FieldError) {
        var r = reader
        guard var res = try r.object("resources") else { throw FieldError(field: r.fieldPath("resources"), message: "is required") }
        guard let cpu = try res.double("cpu") else { throw FieldError(field: res.fieldPath("cpu"), message: "is required") }
        let resources = Resources(cpu: cpu, memoryMB: try res.requiredInt("memoryMB"), diskMB: try res.int("diskMB") ?? 0,
                                  networkMbps: try res.int("networkMbps") ?? 0)
        try res.finish()
        self.init(image: try r.requiredString("image"), command: try r.stringArray("command") ?? [],
                  entrypoint: try r.stringArray("entrypoint") ?? [],
                  env: try JobSpec.dictionary(r.stringMap("env"), path: r.fieldPath("env")),
                  secretEnv: try JobSpec.dictionary(r.stringMap("secretEnv"), path: r.fieldPath("secretEnv")),
                  resources: resources)
        if let h = try r.object("healthCheck") { healthCheck = try HealthCheck(reader: h) }
        if var m = try r.object("metadata") {
            metadata = MetadataOptions(requireTokens: try m.bool("requireTokens") ?? false)
            try m.finish()
        }
        privileged = try r.bool("privileged") ?? false
        mounts = try Self.mounts(&r)
        try r.finish()
    }

    private static let mountsMax = 32

    private static func mounts(_ r: inout ObjectReader) throws(FieldError) -> [Mount] {
        guard let value = r.value("mounts") else { return [] }
        guard case .array(let items) = value else {
            throw FieldError(field: r.fieldPath("mounts"), message: "expected an array of objects, found \(value.typeName)")
        }
        guard items.count <= mountsMax else { throw FieldError(field: r.fieldPath("mounts"), message: "at most \(mountsMax) mounts") }
        var mounts: [Mount] = []
        for (index, item) in items.enumerated() {
            var m = try ObjectReader(item, path: "\(r.fieldPath("mounts"))[\(index)]")
            mounts.append(Mount(hostPath: try m.requiredString("hostPath"), containerPath: try m.requiredString("containerPath"),
                                readOnly: try m.bool("readOnly") ?? true))
            try m.finish()
        }
        return mounts
    }

    /// `redactingSecrets`: `secretEnv` values become `<redacted>` (every API answer); the store,
    /// the log and the agents get them as they are.
    func write(to w: inout JSONWriter, redactingSecrets: Bool = false) {
        w.beginObject()
        w.field("image", image)
        w.key("command"); w.stringArray(command)
        w.key("entrypoint"); w.stringArray(entrypoint)
        w.key("env"); w.stringMap(env)
        if !secretEnv.isEmpty {
            w.key("secretEnv"); w.stringMap(redactingSecrets ? secretEnv.mapValues { _ in Self.redacted } : secretEnv)
        }
        w.key("resources"); resources.write(to: &w)
        if let healthCheck { w.key("healthCheck"); healthCheck.write(to: &w) }
        // Written only when set, so a job that does not use it encodes as before.
        if metadata != MetadataOptions() {
            w.key("metadata"); w.beginObject(); w.field("requireTokens", metadata.requireTokens); w.endObject()
        }
        if privileged { w.field("privileged", true) }
        if !mounts.isEmpty {
            w.key("mounts")
            w.beginArray()
            for mount in mounts {
                w.beginObject()
                w.field("hostPath", mount.hostPath)
                w.field("containerPath", mount.containerPath)
                w.field("readOnly", mount.readOnly)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }

    /// What API answers show in place of a secret's value.
    public static let redacted = "<redacted>"
}

extension HealthCheck {
    init(reader: ObjectReader) throws(FieldError) {
        var r = reader
        let exec = try r.stringArray("exec")
        let http = try r.object("http")
        let probe: Probe
        switch (exec, http) {
        case (let command?, nil): probe = .exec(command)
        case (nil, var h?):
            probe = .http(port: try h.requiredInt("port"), path: try h.string("path") ?? "/")
            try h.finish()
        default: throw FieldError(field: r.path, message: "needs exactly one of exec, http")
        }
        self.init(probe: probe, intervalSeconds: try r.int("intervalSeconds") ?? 10,
                  timeoutSeconds: try r.int("timeoutSeconds") ?? 5, retries: try r.int("retries") ?? 3,
                  startPeriodSeconds: try r.int("startPeriodSeconds") ?? 0)
        try r.finish()
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        switch probe {
        case .exec(let command): w.key("exec"); w.stringArray(command)
        case .http(let port, let path):
            w.key("http")
            w.beginObject()
            w.field("port", port)
            w.field("path", path)
            w.endObject()
        }
        w.field("intervalSeconds", intervalSeconds)
        w.field("timeoutSeconds", timeoutSeconds)
        w.field("retries", retries)
        w.field("startPeriodSeconds", startPeriodSeconds)
        w.endObject()
    }
}

extension BatchSpec {
    init(reader r: inout ObjectReader) throws(FieldError) {
        self.init(size: try r.requiredInt("size"), runtimeLimitSeconds: try r.int("runtimeLimitSeconds"))
        if let p = try r.object("retryPolicy") { retryPolicy = try RetryPolicy(reader: p) }
        try r.finish()
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("size", size)
        if let runtimeLimitSeconds { w.field("runtimeLimitSeconds", runtimeLimitSeconds) }
        w.key("retryPolicy"); retryPolicy.write(to: &w)
        w.endObject()
    }
}

extension ServiceSpec {
    init(reader r: inout ObjectReader) throws(FieldError) {
        guard var c = try r.object("capacity") else { throw FieldError(field: r.fieldPath("capacity"), message: "is required") }
        self.init(capacity: try Capacity(reader: &c))
        if let p = try r.object("retryPolicy") { retryPolicy = try RetryPolicy(reader: p) }
        try r.finish()
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("capacity"); capacity.write(to: &w)
        w.key("retryPolicy"); retryPolicy.write(to: &w)
        w.endObject()
    }
}

extension Capacity {
    public init(reader r: inout ObjectReader) throws(FieldError) {
        self.init(min: try r.requiredInt("min"), desired: try r.requiredInt("desired"), max: try r.requiredInt("max"))
        try r.finish()
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("min", min)
        w.field("desired", desired)
        w.field("max", max)
        w.endObject()
    }
}

extension RetryPolicy {
    init(reader: ObjectReader) throws(FieldError) {
        var r = reader
        var found: [RetryPolicy] = []
        if var p = try r.object("immediate") {
            found.append(.immediate(retries: try p.requiredInt("retries")))
            try p.finish()
        }
        if var p = try r.object("delayed") {
            found.append(.delayed(delayMs: try p.requiredInt("delayMs"), retries: try p.requiredInt("retries")))
            try p.finish()
        }
        if var p = try r.object("exponential") {
            found.append(.exponential(initialDelayMs: try p.requiredInt("initialDelayMs"),
                                      maxDelayMs: try p.requiredInt("maxDelayMs"), retries: try p.requiredInt("retries")))
            try p.finish()
        }
        try r.finish()
        guard found.count == 1 else {
            throw FieldError(field: r.path, message: "needs exactly one of immediate, delayed, exponential")
        }
        self = found[0]
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        switch self {
        case .immediate(let retries):
            w.key("immediate"); w.beginObject(); w.field("retries", retries); w.endObject()
        case .delayed(let delayMs, let retries):
            w.key("delayed"); w.beginObject(); w.field("delayMs", delayMs); w.field("retries", retries); w.endObject()
        case .exponential(let initial, let maxDelay, let retries):
            w.key("exponential"); w.beginObject()
            w.field("initialDelayMs", initial); w.field("maxDelayMs", maxDelay); w.field("retries", retries)
            w.endObject()
        }
        w.endObject()
    }
}

extension DisruptionBudget {
    init(reader r: inout ObjectReader) throws(FieldError) {
        let count = try r.int("maxUnavailable")
        let percent = try r.int("maxUnavailablePercent")
        try r.finish()
        switch (count, percent) {
        case (let c?, nil): self = .maxUnavailable(c)
        case (nil, let p?): self = .maxUnavailablePercent(p)
        default: throw FieldError(field: r.path, message: "needs exactly one of maxUnavailable, maxUnavailablePercent")
        }
    }

    func write(to w: inout JSONWriter) {
        w.beginObject()
        switch self {
        case .maxUnavailable(let n): w.field("maxUnavailable", n)
        case .maxUnavailablePercent(let p): w.field("maxUnavailablePercent", p)
        }
        w.endObject()
    }
}
