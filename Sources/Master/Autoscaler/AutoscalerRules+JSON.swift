import Model

/// The rules file: strict JSON (unknown fields are errors naming their path), checked whole
/// before the master starts. The format is documented in docs/autoscaler.md.
extension AutoscalerRules {
    public static let fileBytesMax = 1 << 20

    public init(json bytes: [UInt8]) throws(FieldError) {
        guard bytes.count <= Self.fileBytesMax else { throw FieldError(field: "", message: "larger than \(Self.fileBytesMax) bytes") }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw FieldError(field: "", message: error.description) }
        var r = try ObjectReader(value, path: "")
        guard var p = try r.object("provider") else { throw FieldError(field: "provider", message: "is required") }
        let provider = try ProviderConfiguration(reader: &p)
        guard case .array(let items)? = r.value("groups"), !items.isEmpty else {
            throw FieldError(field: "groups", message: "must be a non-empty array of groups")
        }
        guard items.count <= Self.groupsMax else { throw FieldError(field: "groups", message: "at most \(Self.groupsMax) groups") }
        var groups: [GroupRule] = []
        for (i, item) in items.enumerated() {
            var g = try ObjectReader(item, path: "groups[\(i)]")
            let group = try GroupRule(reader: &g)
            guard !groups.contains(where: { $0.name == group.name }) else {
                throw FieldError(field: "groups[\(i)].name", message: "\"\(group.name)\" is listed twice")
            }
            groups.append(group)
        }
        self.init(provider: provider, groups: groups)
        failureBackoffMilliseconds = try Self.milliseconds(&r, "failureBackoffSeconds", default: 30_000)
        drainSettleMilliseconds = try Self.milliseconds(&r, "drainSettleSeconds", default: 2_000)
        historyMax = try Self.bounded(&r, "historyMax", default: 100, 1...10_000)
        try r.finish()
    }

    /// A non-negative number of seconds (fractions allowed), as milliseconds.
    static func milliseconds(_ r: inout ObjectReader, _ key: String, default value: Int64,
                             max: Double = 86_400) throws(FieldError) -> Int64 {
        guard let seconds = try r.double(key) else { return value }
        guard seconds >= 0, seconds <= max else {
            throw FieldError(field: r.fieldPath(key), message: "must be between 0 and \(Int(max)) seconds")
        }
        return Int64((seconds * 1_000).rounded())
    }

    static func bounded(_ r: inout ObjectReader, _ key: String, default value: Int? = nil,
                        _ range: ClosedRange<Int>) throws(FieldError) -> Int {
        guard let n = try r.int(key) ?? value else { throw FieldError(field: r.fieldPath(key), message: "is required") }
        guard range.contains(n) else {
            throw FieldError(field: r.fieldPath(key), message: "must be between \(range.lowerBound) and \(range.upperBound); got \(n)")
        }
        return n
    }
}

extension ProviderConfiguration {
    init(reader r: inout ObjectReader) throws(FieldError) {
        guard let command = try r.stringArray("command"), let program = command.first, !program.isEmpty else {
            throw FieldError(field: r.fieldPath("command"), message: "must name the provider program, e.g. [\"/usr/local/bin/fuller-aws-asg\"]")
        }
        var environment: [String: String] = [:]
        for (key, value) in try r.stringMap("environment") ?? [] { environment[key] = value }
        self.init(command: command, environment: environment,
                  timeoutMilliseconds: try AutoscalerRules.milliseconds(&r, "timeoutSeconds", default: 120_000, max: 3_600),
                  retries: try AutoscalerRules.bounded(&r, "retries", default: 2, 0...10),
                  retryDelayMilliseconds: try AutoscalerRules.milliseconds(&r, "retryDelaySeconds", default: 1_000, max: 600))
        guard timeoutMilliseconds > 0 else { throw FieldError(field: r.fieldPath("timeoutSeconds"), message: "must be above 0") }
        try r.finish()
    }
}

extension GroupRule {
    init(reader r: inout ObjectReader) throws(FieldError) {
        let name = try r.requiredString("name")
        guard !name.isEmpty, name.count <= 128, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw FieldError(field: r.fieldPath("name"), message: "must be 1 to 128 letters, digits, '-', '_' or '.'")
        }
        let sizeMax = AutoscalerRules.groupSizeMax
        let minSize = try AutoscalerRules.bounded(&r, "minSize", default: 0, 0...sizeMax)
        let maxSize = try AutoscalerRules.bounded(&r, "maxSize", 0...sizeMax)
        guard minSize <= maxSize else { throw FieldError(field: r.fieldPath("minSize"), message: "must not exceed maxSize (\(maxSize))") }
        let minIdle = try AutoscalerRules.bounded(&r, "minIdle", default: 0, 0...sizeMax)
        let maxIdle = try AutoscalerRules.bounded(&r, "maxIdle", default: Swift.max(1, minIdle), 0...sizeMax)
        guard minIdle <= maxIdle else { throw FieldError(field: r.fieldPath("minIdle"), message: "must not exceed maxIdle (\(maxIdle))") }
        guard var s = try r.object("shape") else { throw FieldError(field: r.fieldPath("shape"), message: "is required") }
        let shape = try AgentShape(reader: &s)
        self.init(name: name, minSize: minSize, maxSize: maxSize, minIdle: minIdle, maxIdle: maxIdle,
                  cooldownMilliseconds: try AutoscalerRules.milliseconds(&r, "cooldownSeconds", default: 60_000),
                  scaleUpTimeoutMilliseconds: try AutoscalerRules.milliseconds(&r, "scaleUpTimeoutSeconds", default: 600_000),
                  scaleDownStepMax: try AutoscalerRules.bounded(&r, "scaleDownStepMax", default: 10, 1...sizeMax),
                  shape: shape)
        guard scaleUpTimeoutMilliseconds > 0 else {
            throw FieldError(field: r.fieldPath("scaleUpTimeoutSeconds"), message: "must be above 0")
        }
        try r.finish()
    }
}

extension AgentShape {
    init(reader r: inout ObjectReader) throws(FieldError) {
        guard let cpu = try r.double("cpu"), cpu > 0, cpu <= 4_096 else {
            throw FieldError(field: r.fieldPath("cpu"), message: "is required: cores per agent, above 0")
        }
        let memoryMB = try AutoscalerRules.bounded(&r, "memoryMB", 1...(1 << 30))
        let diskMB = try AutoscalerRules.bounded(&r, "diskMB", default: 0, 0...(1 << 40))
        let networkMbps = try AutoscalerRules.bounded(&r, "networkMbps", default: 0, 0...(1 << 30))
        let zones = try r.stringArray("zones") ?? []
        guard Set(zones).count == zones.count, !zones.contains("") else {
            throw FieldError(field: r.fieldPath("zones"), message: "must be distinct, non-empty zone names")
        }
        var attributes: [String: String] = [:]
        for (key, value) in try r.stringMap("attributes") ?? [] { attributes[key] = value }
        self.init(resources: Resources(cpu: cpu, memoryMB: memoryMB, diskMB: diskMB, networkMbps: networkMbps),
                  zones: zones, machineType: try r.string("machineType"), attributes: attributes)
        try r.finish()
    }
}
