/// What `GET /v1/autoscaler` shows: each group's rules, sizes and latest decision, and the last
/// actions with their outcomes.
public struct AutoscalerStatus: Sendable, Equatable {
    public var evaluatedAtMs: Int64?
    public var groups: [GroupStatus]
    /// Pending tasks that fit no current agent and no group's agent shape (or name a
    /// `machineGroup` without rules): no scale-up can help them.
    public var unmatchedTasks: Int
    /// Oldest first.
    public var actions: [ActionRecord]

    public init(evaluatedAtMs: Int64?, groups: [GroupStatus], unmatchedTasks: Int, actions: [ActionRecord]) {
        self.evaluatedAtMs = evaluatedAtMs
        self.groups = groups
        self.unmatchedTasks = unmatchedTasks
        self.actions = actions
    }

    /// Before any evaluation, or with autoscaling off.
    public static let empty = AutoscalerStatus(evaluatedAtMs: nil, groups: [], unmatchedTasks: 0, actions: [])
}

public struct GroupStatus: Sendable, Equatable {
    public var rule: GroupRule
    /// Registered agents of the group, the drained and the silent included.
    public var size: Int
    public var idle: Int
    public var busy: Int
    /// Drained by the autoscaler, waiting to be terminated.
    public var draining: Int
    /// Neither responsive nor drained by the autoscaler (unhealthy, silent or drained by an operator).
    public var other: Int
    /// Requested from the provider, not registered yet.
    public var expected: Int
    /// Agents per zone (`-` for agents without a zone).
    public var zones: [String: Int]
    /// Pending tasks that fit no current agent and count against this group.
    public var shortfallTasks: Int
    /// Of those, the ones no agent the group may still add can hold (it is at `maxSize`).
    public var unsatisfiedTasks: Int
    public var cooldownUntilMs: Int64?
    public var providerBusy: Bool
    /// The latest decision, in a sentence: what it did or why it did nothing.
    public var decision: String
}
