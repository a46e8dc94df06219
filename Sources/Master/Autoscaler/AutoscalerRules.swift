import Model

/// What the operator configures (`--autoscale-rules FILE`, docs/autoscaler.md): the provider
/// hook, and for each agent group (the agents' `machineGroup` attribute) its limits and the
/// shape of the agents a scale-up adds.
public struct AutoscalerRules: Sendable, Equatable {
    public var provider: ProviderConfiguration
    /// Evaluated in this order: a pending task with no `machineGroup` constraint is counted
    /// against the first group whose agent shape can hold it.
    public var groups: [GroupRule]
    /// After a provider action of a group fails, no provider action for it until this passes.
    public var failureBackoffMilliseconds: Int64 = 30_000
    /// How long a drained agent must stay drained (and idle) before it is terminated, so a
    /// placement decided before the drain shows up first.
    public var drainSettleMilliseconds: Int64 = 2_000
    /// Actions kept for `GET /v1/autoscaler`.
    public var historyMax = 100

    public static let groupsMax = 100
    public static let groupSizeMax = 10_000

    public init(provider: ProviderConfiguration, groups: [GroupRule]) {
        self.provider = provider
        self.groups = groups
    }

    public func group(_ name: String) -> GroupRule? { groups.first { $0.name == name } }
}

/// The executable the autoscaler runs for its actions (the provider protocol in
/// docs/autoscaler.md): `COMMAND... scale-up GROUP COUNT` or `COMMAND... scale-down GROUP ID...`.
public struct ProviderConfiguration: Sendable, Equatable {
    /// The program and any leading arguments.
    public var command: [String]
    /// Extra environment for the provider (on top of the master's and the `FULLER_*` it sets).
    public var environment: [String: String]
    /// One attempt is killed (its whole process group) after this long.
    public var timeoutMilliseconds: Int64
    /// Attempts after the first one fails, with a doubling delay from `retryDelayMilliseconds`.
    public var retries: Int
    public var retryDelayMilliseconds: Int64

    public init(command: [String], environment: [String: String] = [:], timeoutMilliseconds: Int64 = 120_000,
                retries: Int = 2, retryDelayMilliseconds: Int64 = 1_000) {
        self.command = command
        self.environment = environment
        self.timeoutMilliseconds = timeoutMilliseconds
        self.retries = retries
        self.retryDelayMilliseconds = retryDelayMilliseconds
    }
}

/// The rules of one agent group (Fenzo's autoscale rule, plus group sizes).
public struct GroupRule: Sendable, Equatable {
    public var name: String
    /// The group never shrinks below `minSize` nor grows above `maxSize` agents.
    public var minSize: Int
    public var maxSize: Int
    /// Idle agents (no unfinished task) to keep: fewer than `minIdle` scales up, more than
    /// `maxIdle` scales down.
    public var minIdle: Int
    public var maxIdle: Int
    /// After any action of the group, idle-driven actions wait this long. A shortfall (tasks
    /// that fit no agent) and `minSize` do not wait.
    public var cooldownMilliseconds: Int64
    /// A requested agent that has not registered after this long is no longer expected.
    public var scaleUpTimeoutMilliseconds: Int64
    /// Agents drained for a scale-down at once, at most.
    public var scaleDownStepMax: Int
    public var shape: AgentShape

    public init(name: String, minSize: Int = 0, maxSize: Int, minIdle: Int = 0, maxIdle: Int = 1,
                cooldownMilliseconds: Int64 = 60_000, scaleUpTimeoutMilliseconds: Int64 = 600_000,
                scaleDownStepMax: Int = 10, shape: AgentShape) {
        self.name = name
        self.minSize = minSize
        self.maxSize = maxSize
        self.minIdle = minIdle
        self.maxIdle = maxIdle
        self.cooldownMilliseconds = cooldownMilliseconds
        self.scaleUpTimeoutMilliseconds = scaleUpTimeoutMilliseconds
        self.scaleDownStepMax = scaleDownStepMax
        self.shape = shape
    }
}

/// What one new agent of a group offers and which attributes it will register with.
public struct AgentShape: Sendable, Equatable {
    public var resources: Resources
    /// The zones new agents may land in (the provider chooses; e.g. an AWS group balances them).
    public var zones: [String]
    public var machineType: String?
    /// Further attributes the agents register with (`hostAttribute:<key>` constraints).
    public var attributes: [String: String]

    public init(resources: Resources, zones: [String] = [], machineType: String? = nil, attributes: [String: String] = [:]) {
        self.resources = resources
        self.zones = zones
        self.machineType = machineType
        self.attributes = attributes
    }
}
