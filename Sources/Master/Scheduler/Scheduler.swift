import Model

/// One scheduling iteration's view of the cluster: a snapshot the leader takes from the store
/// and the agent registry. The scheduler never changes the store; the leader commits its plan
/// through the log, and the store re-checks each agent's capacity then (`TaskUpdate.agentTotal`).
public struct SchedulingInput: Sendable {
    public var agents: [AgentView]
    /// Tasks to place, in submit order; the scheduler takes `critical` before `flex`, keeping
    /// this order within a tier.
    public var pending: [PendingTask]
    /// For each job of a pending task: the agents its unfinished tasks already run on (one entry
    /// per task). uniqueHost and zoneBalance count from here.
    public var placed: [String: [String]]
    /// What the unfinished tasks of each capacity group already use.
    public var groupUsage: [String: Resources]

    public init(agents: [AgentView], pending: [PendingTask], placed: [String: [String]] = [:],
                groupUsage: [String: Resources] = [:]) {
        self.agents = agents
        self.pending = pending
        self.placed = placed
        self.groupUsage = groupUsage
    }
}

/// An agent as the scheduler sees it.
public struct AgentView: Sendable, Equatable {
    public var id: String
    /// `zone`, `machineType`, `machineGroup`, `hostname` and any others constraints may name.
    public var attributes: [String: String]
    public var total: Resources
    /// What the unfinished tasks already placed on it ask for.
    public var used: Resources
    /// How many unfinished tasks it runs (exclusiveHost wants none).
    public var taskCount: Int
    /// True when one of its tasks belongs to an exclusiveHost job: nothing else may join it.
    public var exclusive: Bool
    /// False for draining, disabled, unhealthy or silent agents: they take nothing new.
    public var schedulable: Bool

    public init(id: String, attributes: [String: String] = [:], total: Resources, used: Resources = .zero,
                taskCount: Int = 0, exclusive: Bool = false, schedulable: Bool = true) {
        self.id = id
        self.attributes = attributes
        self.total = total
        self.used = used
        self.taskCount = taskCount
        self.exclusive = exclusive
        self.schedulable = schedulable
    }

    public var free: Resources { total - used }
}

/// A task waiting for an agent, with what of its job placement needs.
public struct PendingTask: Sendable, Equatable {
    public var id: String
    public var jobId: String
    public var resources: Resources
    public var tier: Tier
    public var capacityGroup: String
    public var constraints: Constraints
    /// How many tasks the job wants in all (batch size or service desired): zoneBalance spreads
    /// them so no zone holds more than its even share, rounded up.
    public var jobSize: Int

    public init(id: String, jobId: String, resources: Resources, tier: Tier = .flex, capacityGroup: String = "default",
                constraints: Constraints = Constraints(), jobSize: Int = 1) {
        self.id = id
        self.jobId = jobId
        self.resources = resources
        self.tier = tier
        self.capacityGroup = capacityGroup
        self.constraints = constraints
        self.jobSize = jobSize
    }
}

/// The result of one iteration: placements in the order they were made, and for each task left
/// pending how many agents refused it for which reason.
public struct PlacementPlan: Sendable, Equatable {
    public var placements: [Placement]
    public var unplaced: [String: [String: Int]]

    public init(placements: [Placement] = [], unplaced: [String: [String: Int]] = [:]) {
        self.placements = placements
        self.unplaced = unplaced
    }

    /// "9 agents: insufficient memory; 3 agents: zoneBalance", most common reason first.
    public static func explain(_ reasons: [String: Int]) -> String {
        reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.value) agent\($0.value == 1 ? "" : "s"): \($0.key)" }
            .joined(separator: "; ")
    }
}

public struct Placement: Sendable, Equatable {
    public var taskId: String
    public var agentId: String
    public init(taskId: String, agentId: String) {
        self.taskId = taskId
        self.agentId = agentId
    }
}
