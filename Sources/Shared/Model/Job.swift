/// A job as the store holds it: the user's spec plus what Fuller has done with it.
public struct Job: Sendable, Equatable {
    public var id: String
    public var spec: JobSpec
    public var state: JobState
    /// Creation order in the store; list pagination follows it.
    public var sequence: UInt64
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    public var idempotencyKey: String?

    public init(id: String, spec: JobSpec, state: JobState = .accepted, sequence: UInt64, createdAtMs: Int64,
                idempotencyKey: String? = nil) {
        self.id = id
        self.spec = spec
        self.state = state
        self.sequence = sequence
        self.createdAtMs = createdAtMs
        self.updatedAtMs = createdAtMs
        self.idempotencyKey = idempotencyKey
    }
}

/// `Accepted → KillInitiated → Finished`; a job whose tasks all end goes straight to `Finished`.
public enum JobState: String, Sendable, CaseIterable {
    case accepted = "Accepted"
    case killInitiated = "KillInitiated"
    case finished = "Finished"
}

/// A task: one container instance of a job. (Named `JobTask` so it never shadows Swift's `Task`.)
public struct JobTask: Sendable, Equatable {
    public var id: String
    public var jobId: String
    /// The slot this task fills: a batch index (0..<size) or a service instance number.
    public var index: Int
    /// 0 for the first attempt at this slot, 1 for its first retry, and so on.
    public var attempt: Int
    public var state: TaskState
    public var reason: FinishReason?
    public var exitCode: Int?
    public var message: String?
    public var agentId: String?
    public var containerId: String?
    public var ip: String?
    /// `starting`, `healthy` or `unhealthy` as the agent last reported it; nil without a health
    /// check (the job's, or the image's own `HEALTHCHECK`).
    public var health: String?
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// The task may not be placed before this time (retry back-off); 0 means now.
    public var notBeforeMs: Int64
    /// Recent state changes, oldest first, bounded by `JobTask.historyMax`.
    public var history: [TaskStatusEntry]

    public static let historyMax = 16

    public init(id: String, jobId: String, index: Int, attempt: Int, createdAtMs: Int64, notBeforeMs: Int64 = 0) {
        self.id = id
        self.jobId = jobId
        self.index = index
        self.attempt = attempt
        self.state = .accepted
        self.createdAtMs = createdAtMs
        self.updatedAtMs = createdAtMs
        self.notBeforeMs = notBeforeMs
        self.history = [TaskStatusEntry(state: .accepted, reason: nil, atMs: createdAtMs)]
    }

    public var isFinished: Bool { state == .finished }
}

public struct TaskStatusEntry: Sendable, Equatable {
    public var state: TaskState
    public var reason: FinishReason?
    public var atMs: Int64
    public init(state: TaskState, reason: FinishReason?, atMs: Int64) {
        self.state = state
        self.reason = reason
        self.atMs = atMs
    }
}

/// `Accepted → Launched → StartInitiated → Started → KillInitiated → Finished`, plus
/// `Disconnected` (agent silent, task presumed running).
public enum TaskState: String, Sendable, CaseIterable {
    case accepted = "Accepted"
    case launched = "Launched"
    case startInitiated = "StartInitiated"
    case started = "Started"
    case disconnected = "Disconnected"
    case killInitiated = "KillInitiated"
    case finished = "Finished"

    /// Forward order; a transition may skip states but never go back (Disconnected is a side state).
    var rank: Int {
        switch self {
        case .accepted: 0
        case .launched: 1
        case .startInitiated: 2
        case .started, .disconnected: 3
        case .killInitiated: 4
        case .finished: 5
        }
    }

    /// Whether a task may move from `self` to `next`.
    public func canMove(to next: TaskState) -> Bool {
        if self == .finished { return false }
        if next == .finished || next == .killInitiated { return true }
        if self == .disconnected { return next == .started }
        if next == .disconnected { return self == .launched || self == .startInitiated || self == .started }
        if self == .killInitiated { return false }
        return next.rank > rank
    }
}

/// Why a task finished.
public enum FinishReason: String, Sendable, CaseIterable {
    case normal, failed, killed, scaledDown, lost, runtimeLimitExceeded, stuckInState, invalidRequest, crashed
    case transientSystemError, localSystemError

    /// Whether a task that ended this way is replaced under the job's retry policy.
    public var isRetryable: Bool {
        switch self {
        case .failed, .lost, .runtimeLimitExceeded, .stuckInState, .crashed, .transientSystemError, .localSystemError: true
        case .normal, .killed, .scaledDown, .invalidRequest: false
        }
    }
}
