import Model

/// What the unfinished tasks placed on one agent ask for: the scheduler's view of the agent's
/// use and the store's check against over-commit, kept up to date as tasks are placed and end.
public struct AgentLoad: Sendable, Equatable {
    public private(set) var used = Resources.zero
    public private(set) var taskCount = 0
    /// Tasks of exclusiveHost jobs among them (the agent takes no other work while > 0).
    public private(set) var exclusiveTaskCount = 0

    public init() {}

    mutating func add(_ resources: Resources, exclusive: Bool) {
        used = used + resources
        taskCount += 1
        if exclusive { exclusiveTaskCount += 1 }
    }

    mutating func remove(_ resources: Resources, exclusive: Bool) {
        used = used - resources
        taskCount -= 1
        if exclusive { exclusiveTaskCount -= 1 }
        precondition(taskCount >= 0 && exclusiveTaskCount >= 0, "agent load went negative")
    }
}
