import Model

/// One evaluation's view of the cluster, built by the shell from the agent registry and the
/// store. Times are the master's clock in milliseconds since the epoch.
public struct AutoscalerInput: Sendable {
    public var nowMs: Int64
    public var agents: [AgentSnapshot]
    /// Tasks waiting for a placement (after any retry back-off), in the order they are placed.
    public var pending: [PendingDemand]

    public init(nowMs: Int64, agents: [AgentSnapshot], pending: [PendingDemand]) {
        self.nowMs = nowMs
        self.agents = agents
        self.pending = pending
    }
}

/// An agent as the autoscaler sees it.
public struct AgentSnapshot: Sendable, Equatable {
    public var id: String
    /// `zone`, `machineGroup`, `machineType` and any other attributes it registered with.
    public var attributes: [String: String]
    public var total: Resources
    /// What its unfinished tasks ask for.
    public var used: Resources
    /// Its unfinished tasks; 0 makes it idle.
    public var taskCount: Int
    /// The jobs of those tasks (for `uniqueHost`).
    public var jobIds: Set<String>
    public var draining: Bool
    /// Healthy and heard from lately: it can take tasks (unless draining).
    public var responsive: Bool
    public var registeredAtMs: Int64

    public init(id: String, attributes: [String: String], total: Resources, used: Resources = .zero, taskCount: Int = 0,
                jobIds: Set<String> = [], draining: Bool = false, responsive: Bool = true, registeredAtMs: Int64 = 0) {
        self.id = id
        self.attributes = attributes
        self.total = total
        self.used = used
        self.taskCount = taskCount
        self.jobIds = jobIds
        self.draining = draining
        self.responsive = responsive
        self.registeredAtMs = registeredAtMs
    }

    public var group: String? { attributes["machineGroup"] }
    public var zone: String? { attributes["zone"] }
    public var free: Resources { total - used }
    /// Takes new tasks.
    public var schedulable: Bool { responsive && !draining }
    /// Could be given back: takes tasks, has none.
    public var idle: Bool { schedulable && taskCount == 0 }
}

/// A pending task: what it asks for and the hard constraints that decide which agents can hold it.
public struct PendingDemand: Sendable, Equatable {
    public var id: String
    public var jobId: String
    public var resources: Resources
    public var hardConstraints: [String: String]

    public init(id: String, jobId: String, resources: Resources, hardConstraints: [String: String] = [:]) {
        self.id = id
        self.jobId = jobId
        self.resources = resources
        self.hardConstraints = hardConstraints
    }
}
