import Model

/// Every change to the job store is one of these, applied in log order. A command carries all
/// its inputs (ids, timestamps), so applying it is deterministic on every replica.
public enum Command: Sendable, Equatable {
    /// `idempotencyScope` is whose key `idempotencyKey` is (`JobsAPI.idempotencyScope`): the same
    /// key in two scopes makes two jobs. Nil only in entries written before scopes existed.
    case createJob(jobId: String, spec: JobSpec, idempotencyKey: String?, idempotencyScope: String? = nil, atMs: Int64)
    case killJob(jobId: String, atMs: Int64)
    case setCapacity(jobId: String, capacity: Capacity, atMs: Int64)
    /// Kills one task; `shrink` lowers a service's desired count instead of replacing the task.
    case killTask(taskId: String, shrink: Bool, atMs: Int64)
    /// A state change reported for a task (by an agent, the reconciler or the scheduler).
    case updateTask(TaskUpdate)
    /// Records where master `name` listens for its peers, before it joins the Raft group, so
    /// every replica (and every snapshot) knows how to reach it.
    case setMasterAddress(name: String, peerAddress: String, atMs: Int64)
    /// Forgets a master's peer address once it has left the group.
    case forgetMaster(name: String, atMs: Int64)
}

/// One observed change of a task. Fields left nil keep their value.
public struct TaskUpdate: Sendable, Equatable {
    public var taskId: String
    public var state: TaskState
    public var reason: FinishReason?
    public var exitCode: Int?
    public var message: String?
    public var agentId: String?
    public var containerId: String?
    public var ip: String?
    /// The container's health as the agent reports it (`TaskReport.health`).
    public var health: String?
    /// With a placement (`agentId` set on an `Accepted` task): everything the agent offers. The
    /// store refuses the placement when the unfinished tasks already on the agent plus this one
    /// would ask for more, so two plans made from the same snapshot cannot over-commit it.
    public var agentTotal: Resources?
    public var atMs: Int64

    public init(taskId: String, state: TaskState, reason: FinishReason? = nil, exitCode: Int? = nil,
                message: String? = nil, agentId: String? = nil, containerId: String? = nil, ip: String? = nil,
                health: String? = nil, agentTotal: Resources? = nil, atMs: Int64) {
        self.taskId = taskId
        self.state = state
        self.reason = reason
        self.exitCode = exitCode
        self.message = message
        self.agentId = agentId
        self.containerId = containerId
        self.ip = ip
        self.health = health
        self.agentTotal = agentTotal
        self.atMs = atMs
    }
}

/// What applying a command produced.
public enum CommandResult: Sendable, Equatable {
    /// `replayed` is true when an `Idempotency-Key` matched an earlier create.
    case job(Job, replayed: Bool)
    case task(JobTask)
    /// A master's peer address as recorded (nil once forgotten).
    case master(name: String, peerAddress: String?)
    case rejected(StoreError)
}

/// Why the store refused a command. Refusals are deterministic, so every replica refuses alike.
public enum StoreError: Error, Sendable, Equatable {
    case notFound(kind: String, id: String)
    case conflict(field: String?, message: String)
    case invalid(FieldError)
    case limitExceeded(field: String?, message: String)
}
