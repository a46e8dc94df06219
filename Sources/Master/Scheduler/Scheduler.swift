import Model

/// The placement interface: given the agents as they are and the tasks waiting, decide where
/// each task goes. Implementations are pure and deterministic; the leader commits the plan
/// through the log (`Accepted → Launched` with the agent), so a plan never changes the store by
/// itself.
public protocol Scheduler: Sendable {
    func schedule(_ input: SchedulingInput) -> PlacementPlan
}

/// One scheduling iteration's view of the cluster.
public struct SchedulingInput: Sendable {
    public var agents: [AgentView]
    /// Tasks to place, in the order they should be considered (tier, then submit order).
    public var pending: [PendingTask]

    public init(agents: [AgentView], pending: [PendingTask]) {
        self.agents = agents
        self.pending = pending
    }
}

/// An agent as the scheduler sees it.
public struct AgentView: Sendable, Equatable {
    public var id: String
    public var attributes: [String: String]
    public var total: Resources
    /// What the unfinished tasks already placed on it ask for.
    public var used: Resources
    /// False for draining, unhealthy or silent agents: they take nothing new.
    public var schedulable: Bool

    public init(id: String, attributes: [String: String] = [:], total: Resources, used: Resources = .zero,
                schedulable: Bool = true) {
        self.id = id
        self.attributes = attributes
        self.total = total
        self.used = used
        self.schedulable = schedulable
    }

    public var free: Resources { total - used }
}

public struct PendingTask: Sendable, Equatable {
    public var id: String
    public var jobId: String
    public var resources: Resources
    public init(id: String, jobId: String, resources: Resources) {
        self.id = id
        self.jobId = jobId
        self.resources = resources
    }
}

/// The result of one iteration: placements, and for each task left pending how many agents
/// refused it for which reason.
public struct PlacementPlan: Sendable, Equatable {
    public var placements: [Placement]
    public var unplaced: [String: [String: Int]]

    public init(placements: [Placement] = [], unplaced: [String: [String: Int]] = [:]) {
        self.placements = placements
        self.unplaced = unplaced
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
