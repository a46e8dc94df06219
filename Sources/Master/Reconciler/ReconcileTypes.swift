import JobStore
import Model

/// What the leader knows of one agent when a pass starts (soft state, never replicated).
/// Build one per heartbeat, not per pass: the digest of its reports is computed here.
public struct AgentObservation: Sendable {
    /// The last heartbeat or registration this master received.
    public var lastHeardMs: Int64
    /// The task reports of the agent's latest heartbeat, by task id; nil until a heartbeat has
    /// arrived since the agent (re)registered, so an unknown picture is never read as "none".
    public let reports: [String: TaskReport]?
    /// Containers labelled `fuller.managed` that belong to no task the agent knows.
    public let unknownContainers: [String]
    /// A summary of the reported task ids, compared with the same summary of the tasks the
    /// store places on the agent: when they agree, no task is missing and none is stale, and
    /// the pass looks up no report of this agent.
    let digest: TaskSetDigest
    /// Some report says `starting` or `unhealthy`: its tasks' health must be read.
    let healthNoted: Bool

    public init(lastHeardMs: Int64, reports: [String: TaskReport]? = nil, unknownContainers: [String] = []) {
        self.lastHeardMs = lastHeardMs
        self.reports = reports
        self.unknownContainers = unknownContainers
        var digest = TaskSetDigest(), noted = false
        for (id, report) in reports ?? [:] {
            digest.add(id)
            if report.health == "starting" || report.health == "unhealthy" { noted = true }
        }
        self.digest = digest
        healthNoted = noted
    }
}

/// An order-independent summary of a set of task ids (count, sum and xor of their hashes).
/// Hashes are per process, so both sides of a comparison must be made in the same process.
struct TaskSetDigest: Equatable {
    var count = 0
    var sum: UInt64 = 0
    var xor: UInt64 = 0

    mutating func add(_ id: String) {
        let h = UInt64(bitPattern: Int64(id.hashValue))
        count += 1
        sum &+= h
        xor ^= h
    }
}

/// One pass's input. Ordering contract: the shell reads the agents *before* it copies the
/// store, so every task an agent reports was placed in a store at most as old as `store`.
public struct ReconcileInput: Sendable {
    public var store: JobStore
    public var agents: [String: AgentObservation]
    public var nowMs: Int64

    public init(store: JobStore, agents: [String: AgentObservation], nowMs: Int64) {
        self.store = store
        self.agents = agents
        self.nowMs = nowMs
    }
}

/// What the reconciler did and why; the metric label `kind` of `fuller_reconcile_actions_total`.
public enum ReconcileKind: String, Sendable, CaseIterable, Comparable {
    /// Agent silent past the disconnected timeout: task presumed running.
    case disconnected
    /// Agent silent past the lost timeout: task finished `lost`, replaced per its retry policy.
    case lost
    /// A connected agent no longer reports a started task: finished `lost`.
    case missing
    /// Stuck past its state's timeout: killed (or, in KillInitiated, finished) as `stuckInState`.
    case stuckLaunched, stuckStartInitiated, stuckKillInitiated
    /// An agent runs a task the store does not place there: the agent is told to kill it.
    case killStaleTask
    /// An agent has a container of a task the store finished: the agent is told to kill it.
    case killUnknownContainer
    /// A container no task can be found for: left to the agent's own orphan rule.
    case unmatchedContainer
    /// A service task unhealthy past its threshold: killed so that it is replaced.
    case unhealthy
    /// An unhealthy task waits: its job's disruption budget is used up.
    case unhealthyDeferred

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One decision: a store change to propose (`update`), a kill to send, or a note.
public struct ReconcileAction: Sendable, Equatable {
    public var kind: ReconcileKind
    public var agentId: String?
    public var taskId: String?
    public var containerId: String?
    /// Why, in words, for the log.
    public var reason: String
    /// The command to propose through the log, if this action changes the store.
    public var update: TaskUpdate?

    public init(kind: ReconcileKind, agentId: String?, taskId: String?, containerId: String? = nil, reason: String,
                update: TaskUpdate? = nil) {
        self.kind = kind
        self.agentId = agentId
        self.taskId = taskId
        self.containerId = containerId
        self.reason = reason
        self.update = update
    }
}

/// A pass's result.
public struct ReconcileOutput: Sendable {
    /// New decisions, sorted by task (then container) id. Kills and notes appear once, when
    /// they start; store changes appear on every pass until the store reflects them (the
    /// shell skips those it already proposed).
    public var actions: [ReconcileAction] = []
    /// Every task each agent must kill on the reconciler's behalf (besides the store's own
    /// `KillInitiated` tasks), to be added to its heartbeat answers.
    public var kills: [String: Set<String>] = [:]
    /// Agents whose `kills` differ from the previous pass: their held heartbeats must be answered.
    public var killsChanged: Set<String> = []

    public var updates: [TaskUpdate] { actions.compactMap(\.update) }
}
