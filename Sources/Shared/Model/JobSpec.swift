/// What a user submits: the desired shape of a job. Titus-compatible vocabulary (DESIGN.md).
public struct JobSpec: Sendable, Equatable {
    public var name: String
    public var owner: String
    public var type: JobType
    public var capacityGroup: String
    public var tier: Tier
    public var labels: [String: String]
    public var container: ContainerSpec
    public var batch: BatchSpec?
    public var service: ServiceSpec?
    public var constraints: Constraints
    public var disruptionBudget: DisruptionBudget?

    public init(name: String, owner: String, type: JobType, capacityGroup: String = "default", tier: Tier = .flex,
                labels: [String: String] = [:], container: ContainerSpec, batch: BatchSpec? = nil,
                service: ServiceSpec? = nil, constraints: Constraints = Constraints(),
                disruptionBudget: DisruptionBudget? = nil) {
        self.name = name
        self.owner = owner
        self.type = type
        self.capacityGroup = capacityGroup
        self.tier = tier
        self.labels = labels
        self.container = container
        self.batch = batch
        self.service = service
        self.constraints = constraints
        self.disruptionBudget = disruptionBudget
    }

    /// The retry policy of whichever kind of job this is.
    public var retryPolicy: RetryPolicy { batch?.retryPolicy ?? service?.retryPolicy ?? .immediate(retries: 0) }
}

public enum JobType: String, Sendable, CaseIterable { case batch, service }
public enum Tier: String, Sendable, CaseIterable { case critical, flex }

public struct ContainerSpec: Sendable, Equatable {
    public var image: String
    public var command: [String]
    public var entrypoint: [String]
    public var env: [String: String]
    /// Variables set like `env` whose values the API never shows (`GET` answers name them with
    /// the value `<redacted>`). They still reach the agent and the container's configuration.
    public var secretEnv: [String: String]
    public var resources: Resources
    public var healthCheck: HealthCheck?
    /// How the agent's metadata endpoint treats this job's containers.
    public var metadata: MetadataOptions
    /// A privileged container; refused at submit unless the masters run with `--allow-privileged`.
    public var privileged: Bool
    /// Host paths bind-mounted into the container; refused at submit unless the masters run with
    /// `--allow-host-mounts` (and the Docker socket, or a directory holding it, unless
    /// `--allow-docker-socket` too).
    public var mounts: [Mount]

    public init(image: String, command: [String] = [], entrypoint: [String] = [], env: [String: String] = [:],
                secretEnv: [String: String] = [:], resources: Resources, healthCheck: HealthCheck? = nil,
                metadata: MetadataOptions = MetadataOptions(), privileged: Bool = false, mounts: [Mount] = []) {
        self.image = image
        self.command = command
        self.entrypoint = entrypoint
        self.env = env
        self.secretEnv = secretEnv
        self.resources = resources
        self.healthCheck = healthCheck
        self.metadata = metadata
        self.privileged = privileged
        self.mounts = mounts
    }
}

/// A job's options for the container metadata endpoint (`container.metadata`).
public struct MetadataOptions: Sendable, Equatable {
    /// IMDSv2 only: every metadata request must carry a session token from
    /// `PUT /latest/api/token`; a request without one gets 401.
    public var requireTokens: Bool

    public init(requireTokens: Bool = false) {
        self.requireTokens = requireTokens
    }
}

/// A host path bind-mounted into a container.
public struct Mount: Sendable, Equatable {
    public var hostPath: String
    public var containerPath: String
    public var readOnly: Bool

    public init(hostPath: String, containerPath: String, readOnly: Bool = true) {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.readOnly = readOnly
    }
}

/// Resources one task asks for. `cpu` is in cores and may be fractional.
public struct Resources: Sendable, Equatable {
    public var cpu: Double
    public var memoryMB: Int
    public var diskMB: Int
    public var networkMbps: Int

    public init(cpu: Double, memoryMB: Int, diskMB: Int = 0, networkMbps: Int = 0) {
        self.cpu = cpu
        self.memoryMB = memoryMB
        self.diskMB = diskMB
        self.networkMbps = networkMbps
    }
}

/// A job-level health check run against each task's container.
public struct HealthCheck: Sendable, Equatable {
    public enum Probe: Sendable, Equatable {
        case exec([String])
        case http(port: Int, path: String)
    }
    public var probe: Probe
    public var intervalSeconds: Int
    public var timeoutSeconds: Int
    public var retries: Int
    public var startPeriodSeconds: Int

    public init(probe: Probe, intervalSeconds: Int = 10, timeoutSeconds: Int = 5, retries: Int = 3,
                startPeriodSeconds: Int = 0) {
        self.probe = probe
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
        self.startPeriodSeconds = startPeriodSeconds
    }
}

public struct BatchSpec: Sendable, Equatable {
    public var size: Int
    public var runtimeLimitSeconds: Int?
    public var retryPolicy: RetryPolicy
    public init(size: Int, runtimeLimitSeconds: Int? = nil, retryPolicy: RetryPolicy = .immediate(retries: 0)) {
        self.size = size
        self.runtimeLimitSeconds = runtimeLimitSeconds
        self.retryPolicy = retryPolicy
    }
}

public struct ServiceSpec: Sendable, Equatable {
    public var capacity: Capacity
    public var retryPolicy: RetryPolicy
    public init(capacity: Capacity, retryPolicy: RetryPolicy = .exponential(initialDelayMs: 1_000, maxDelayMs: 60_000, retries: 1_000_000)) {
        self.capacity = capacity
        self.retryPolicy = retryPolicy
    }
}

/// Service capacity; always `min ≤ desired ≤ max`.
public struct Capacity: Sendable, Equatable {
    public var min: Int
    public var desired: Int
    public var max: Int
    public init(min: Int, desired: Int, max: Int) {
        self.min = min
        self.desired = desired
        self.max = max
    }
}

/// How a failed task is replaced. `retries` counts replacements after the first attempt.
public enum RetryPolicy: Sendable, Equatable {
    case immediate(retries: Int)
    case delayed(delayMs: Int, retries: Int)
    case exponential(initialDelayMs: Int, maxDelayMs: Int, retries: Int)

    public var retries: Int {
        switch self {
        case .immediate(let r), .delayed(_, let r), .exponential(_, _, let r): r
        }
    }

    /// The delay before attempt number `attempt` (1 = first retry).
    public func delayMs(beforeAttempt attempt: Int) -> Int {
        switch self {
        case .immediate: return 0
        case .delayed(let delay, _): return delay
        case .exponential(let initial, let maxDelay, _):
            let shift = Swift.min(Swift.max(attempt - 1, 0), 30)
            let (product, overflow) = initial.multipliedReportingOverflow(by: 1 << shift)
            return overflow ? maxDelay : Swift.min(product, maxDelay)
        }
    }
}

/// Placement constraints by name (DESIGN.md); hard ones filter hosts, soft ones rank them.
public struct Constraints: Sendable, Equatable {
    public var hard: [String: String]
    public var soft: [String: String]
    public init(hard: [String: String] = [:], soft: [String: String] = [:]) {
        self.hard = hard
        self.soft = soft
    }

    /// The constraint names Fuller understands; `hostAttribute:<key>` takes any key.
    public static let knownNames: Set<String> = [
        "uniqueHost", "exclusiveHost", "zoneBalance", "availabilityZone", "machineGroup", "machineType",
    ]
    public static let hostAttributePrefix = "hostAttribute:"

    public static func isKnown(_ name: String) -> Bool {
        knownNames.contains(name) || (name.hasPrefix(hostAttributePrefix) && name.count > hostAttributePrefix.count)
    }
}

/// At most this many of a job's tasks may be unavailable because Fuller chose to disrupt them.
public enum DisruptionBudget: Sendable, Equatable {
    case maxUnavailable(Int)
    case maxUnavailablePercent(Int)
}
