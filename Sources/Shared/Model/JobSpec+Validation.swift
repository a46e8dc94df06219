/// The explicit bounds on what a job may ask for. Defaults follow DESIGN.md's limits.
public struct JobLimits: Sendable, Equatable {
    public var tasksPerJobMax = 10_000
    public var labelsMax = 64
    public var envVarsMax = 256
    public var argumentsMax = 256
    public var argumentBytesMax = 64 * 1024
    public var cpuMax = 1_024.0
    public var memoryMBMax = 4 * 1024 * 1024
    public var diskMBMax = 64 * 1024 * 1024
    public var networkMbpsMax = 400_000
    public var retriesMax = 1_000_000
    public var delayMsMax = 24 * 3_600 * 1_000
    public var runtimeLimitSecondsMax = 30 * 24 * 3_600
    public init() {}
}

extension JobSpec {
    /// Checks every range rule; the error names the first offending field.
    public func validate(limits: JobLimits = JobLimits()) throws(FieldError) {
        try Check.name(name, field: "name", max: 128)
        try Check.text(owner, field: "owner", max: 256)
        try Check.name(capacityGroup, field: "capacityGroup", max: 64)
        try validateLabels(limits)
        try container.validate(limits: limits)
        switch type {
        case .batch:
            guard let batch else { throw FieldError(field: "batch", message: "is required for a batch job") }
            guard service == nil else { throw FieldError(field: "service", message: "is not allowed on a batch job") }
            try batch.validate(limits: limits)
        case .service:
            guard let service else { throw FieldError(field: "service", message: "is required for a service job") }
            guard batch == nil else { throw FieldError(field: "batch", message: "is not allowed on a service job") }
            try service.capacity.validate(limits: limits, field: "service.capacity")
            try service.retryPolicy.validate(limits: limits, field: "service.retryPolicy")
        }
        try validateConstraints()
        if let disruptionBudget { try disruptionBudget.validate() }
    }

    private func validateLabels(_ limits: JobLimits) throws(FieldError) {
        guard labels.count <= limits.labelsMax else {
            throw FieldError(field: "labels", message: "at most \(limits.labelsMax) labels")
        }
        for key in labels.keys.sorted() {
            try Check.labelKey(key, field: "labels.\(key)")
            if key.hasPrefix("fuller.") { throw FieldError(field: "labels.\(key)", message: "the fuller. prefix is reserved") }
            try Check.text(labels[key]!, field: "labels.\(key)", max: 256, allowEmpty: true)
        }
    }

    private func validateConstraints() throws(FieldError) {
        for (kind, map) in [("hard", constraints.hard), ("soft", constraints.soft)] {
            for name in map.keys.sorted() {
                let field = "constraints.\(kind).\(name)"
                guard Constraints.isKnown(name) else {
                    throw FieldError(field: field, message: "unknown constraint; known: \(Constraints.knownNames.sorted().joined(separator: ", ")), hostAttribute:<key>")
                }
                let value = map[name]!
                switch name {
                case "uniqueHost", "exclusiveHost", "zoneBalance":
                    guard value == "true" || value == "false" else { throw FieldError(field: field, message: "must be \"true\" or \"false\"") }
                default:
                    try Check.text(value, field: field, max: 256)
                }
            }
        }
    }
}

extension ContainerSpec {
    func validate(limits: JobLimits) throws(FieldError) {
        try Check.text(image, field: "container.image", max: 512)
        if image.utf8.contains(where: { $0 <= 0x20 }) {
            throw FieldError(field: "container.image", message: "must not contain whitespace")
        }
        try Check.arguments(command, field: "container.command", limits: limits)
        try Check.arguments(entrypoint, field: "container.entrypoint", limits: limits)
        guard env.count + secretEnv.count <= limits.envVarsMax else {
            throw FieldError(field: "container.env", message: "at most \(limits.envVarsMax) variables (env and secretEnv together)")
        }
        try Self.validateVariables(env, field: "container.env")
        try Self.validateVariables(secretEnv, field: "container.secretEnv")
        if let both = secretEnv.keys.sorted().first(where: { env[$0] != nil }) {
            throw FieldError(field: "container.secretEnv.\(both)", message: "is also in container.env")
        }
        try resources.validate(limits: limits)
        if let healthCheck { try healthCheck.validate() }
        for (index, mount) in mounts.enumerated() { try mount.validate(field: "container.mounts[\(index)]") }
    }

    private static func validateVariables(_ variables: [String: String], field base: String) throws(FieldError) {
        for key in variables.keys.sorted() {
            let field = "\(base).\(key)"
            guard Check.isEnvName(key) else { throw FieldError(field: field, message: "must match [A-Za-z_][A-Za-z0-9_]*") }
            if key.hasPrefix("FULLER_") { throw FieldError(field: field, message: "the FULLER_ prefix is reserved") }
            guard variables[key]!.utf8.count <= 32 * 1024, !variables[key]!.utf8.contains(0) else {
                throw FieldError(field: field, message: "at most 32 KiB, no NUL bytes")
            }
        }
    }
}

extension Resources {
    func validate(limits: JobLimits) throws(FieldError) {
        guard cpu.isFinite, cpu > 0, cpu <= limits.cpuMax else {
            throw FieldError(field: "container.resources.cpu", message: "must be more than 0 and at most \(Int(limits.cpuMax)) cores")
        }
        try Check.range(memoryMB, 1...limits.memoryMBMax, field: "container.resources.memoryMB")
        try Check.range(diskMB, 0...limits.diskMBMax, field: "container.resources.diskMB")
        try Check.range(networkMbps, 0...limits.networkMbpsMax, field: "container.resources.networkMbps")
    }
}

extension HealthCheck {
    func validate() throws(FieldError) {
        let base = "container.healthCheck"
        switch probe {
        case .exec(let command):
            guard !command.isEmpty else { throw FieldError(field: "\(base).exec", message: "must not be empty") }
        case .http(let port, let path):
            try Check.range(port, 1...65_535, field: "\(base).http.port")
            guard path.hasPrefix("/"), path.utf8.count <= 1_024, !path.utf8.contains(where: { $0 <= 0x20 }) else {
                throw FieldError(field: "\(base).http.path", message: "must start with / and contain no spaces")
            }
        }
        try Check.range(intervalSeconds, 1...3_600, field: "\(base).intervalSeconds")
        try Check.range(timeoutSeconds, 1...intervalSeconds, field: "\(base).timeoutSeconds")
        try Check.range(retries, 1...100, field: "\(base).retries")
        try Check.range(startPeriodSeconds, 0...3_600, field: "\(base).startPeriodSeconds")
    }
}

extension BatchSpec {
    func validate(limits: JobLimits) throws(FieldError) {
        try Check.range(size, 1...limits.tasksPerJobMax, field: "batch.size")
        if let runtimeLimitSeconds {
            try Check.range(runtimeLimitSeconds, 1...limits.runtimeLimitSecondsMax, field: "batch.runtimeLimitSeconds")
        }
        try retryPolicy.validate(limits: limits, field: "batch.retryPolicy")
    }
}

extension Capacity {
    /// `0 ≤ min ≤ desired ≤ max ≤ tasksPerJobMax`.
    public func validate(limits: JobLimits, field: String) throws(FieldError) {
        try Check.range(min, 0...limits.tasksPerJobMax, field: "\(field).min")
        try Check.range(max, 0...limits.tasksPerJobMax, field: "\(field).max")
        guard min <= max else { throw FieldError(field: "\(field).min", message: "must be at most max (\(max))") }
        guard desired >= min, desired <= max else {
            throw FieldError(field: "\(field).desired", message: "must be between min (\(min)) and max (\(max))")
        }
    }
}

extension RetryPolicy {
    func validate(limits: JobLimits, field: String) throws(FieldError) {
        switch self {
        case .immediate(let retries):
            try Check.range(retries, 0...limits.retriesMax, field: "\(field).immediate.retries")
        case .delayed(let delayMs, let retries):
            try Check.range(delayMs, 0...limits.delayMsMax, field: "\(field).delayed.delayMs")
            try Check.range(retries, 0...limits.retriesMax, field: "\(field).delayed.retries")
        case .exponential(let initial, let maxDelay, let retries):
            try Check.range(initial, 1...limits.delayMsMax, field: "\(field).exponential.initialDelayMs")
            try Check.range(maxDelay, initial...limits.delayMsMax, field: "\(field).exponential.maxDelayMs")
            try Check.range(retries, 0...limits.retriesMax, field: "\(field).exponential.retries")
        }
    }
}

extension DisruptionBudget {
    func validate() throws(FieldError) {
        switch self {
        case .maxUnavailable(let n): try Check.range(n, 1...10_000, field: "disruptionBudget.maxUnavailable")
        case .maxUnavailablePercent(let p): try Check.range(p, 1...100, field: "disruptionBudget.maxUnavailablePercent")
        }
    }
}

/// Small shared checks, each naming the field it rejects.
public enum Check {
    public static func range(_ value: Int, _ range: ClosedRange<Int>, field: String) throws(FieldError) {
        guard range.contains(value) else {
            throw FieldError(field: field, message: "must be between \(range.lowerBound) and \(range.upperBound); got \(value)")
        }
    }

    public static func text(_ value: String, field: String, max: Int, allowEmpty: Bool = false) throws(FieldError) {
        if !allowEmpty && value.isEmpty { throw FieldError(field: field, message: "must not be empty") }
        guard value.utf8.count <= max else { throw FieldError(field: field, message: "at most \(max) bytes") }
        guard !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw FieldError(field: field, message: "must not contain control characters")
        }
    }

    /// Names: letters, digits, `.`, `_`, `-`; starting with a letter or digit.
    public static func name(_ value: String, field: String, max: Int) throws(FieldError) {
        guard !value.isEmpty, value.utf8.count <= max else { throw FieldError(field: field, message: "must be 1 to \(max) characters") }
        guard value.utf8.allSatisfy(isNameByte), let first = value.utf8.first, isAlphanumeric(first) else {
            throw FieldError(field: field, message: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'")
        }
    }

    static func labelKey(_ value: String, field: String) throws(FieldError) {
        guard !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ isNameByte($0) || $0 == UInt8(ascii: "/") }) else {
            throw FieldError(field: field, message: "label keys are 1 to 128 of letters, digits, '.', '_', '-', '/'")
        }
    }

    static func arguments(_ values: [String], field: String, limits: JobLimits) throws(FieldError) {
        guard values.count <= limits.argumentsMax else { throw FieldError(field: field, message: "at most \(limits.argumentsMax) arguments") }
        guard values.reduce(0, { $0 + $1.utf8.count }) <= limits.argumentBytesMax else {
            throw FieldError(field: field, message: "at most \(limits.argumentBytesMax) bytes in all")
        }
        for (i, v) in values.enumerated() where v.utf8.contains(0) {
            throw FieldError(field: "\(field)[\(i)]", message: "must not contain NUL bytes")
        }
    }

    static func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return s.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isAlphanumeric($0) }
    }

    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    static func isAlphanumeric(_ c: UInt8) -> Bool { isLetter(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) }
    static func isNameByte(_ c: UInt8) -> Bool {
        isAlphanumeric(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }
}
