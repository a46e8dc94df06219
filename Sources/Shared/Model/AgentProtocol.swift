/// The agent protocol's wire types (DESIGN.md "Agent protocol"), shared by master and agent.
///
/// ```
/// agent                                   master (leader)
///   POST /v1/agents/register  ───────────►  remembers the agent (soft state; re-sent after failover)
///   POST /v1/agents/{id}/heartbeat ──────►  applies task reports; answers at once if the agent's
///        {reports, assignmentsVersion}      assignments changed, else holds the request up to
///   ◄──── {assignments, kills, version}     `waitMilliseconds` (long poll) until they do
/// ```
/// Assignments are always the agent's complete desired set, so one lost answer costs nothing:
/// the next one repeats it.

/// What an agent tells the master about itself.
public struct AgentRegistration: Sendable, Equatable {
    public var id: String
    public var hostname: String
    /// The agent's API, `host:port`.
    public var address: String
    /// `zone`, `machineType`, `machineGroup` and any other attributes constraints may name.
    public var attributes: [String: String]
    /// What the agent offers to tasks.
    public var resources: Resources

    public init(id: String, hostname: String, address: String, attributes: [String: String], resources: Resources) {
        self.id = id
        self.hostname = hostname
        self.address = address
        self.attributes = attributes
        self.resources = resources
    }
}

/// One heartbeat from an agent.
public struct HeartbeatRequest: Sendable, Equatable {
    /// Increases with every heartbeat the agent process sends.
    public var sequence: UInt64
    /// The `assignmentsVersion` of the last answer the agent acted on (0 = none yet).
    public var assignmentsVersion: UInt64
    /// False while the agent cannot run containers (e.g. Docker is down); `message` says why.
    public var healthy: Bool
    public var message: String?
    /// Changes in the tasks the agent runs, and the current state of each on every heartbeat.
    public var reports: [TaskReport]
    /// Ids of containers labelled `fuller.managed` that belong to no task the agent knows.
    public var unknownContainers: [String]
    /// How long the master may hold the request when there is nothing new (0 = answer at once).
    public var waitMilliseconds: Int

    public init(sequence: UInt64, assignmentsVersion: UInt64, healthy: Bool = true, message: String? = nil,
                reports: [TaskReport] = [], unknownContainers: [String] = [], waitMilliseconds: Int = 0) {
        self.sequence = sequence
        self.assignmentsVersion = assignmentsVersion
        self.healthy = healthy
        self.message = message
        self.reports = reports
        self.unknownContainers = unknownContainers
        self.waitMilliseconds = waitMilliseconds
    }
}

/// The state of one task as its agent sees it.
public struct TaskReport: Sendable, Equatable {
    public var taskId: String
    public var state: TaskState
    public var containerId: String?
    public var ip: String?
    public var exitCode: Int?
    public var reason: FinishReason?
    public var message: String?
    /// `healthy`, `unhealthy` or `starting` when the task has a health check.
    public var health: String?

    public init(taskId: String, state: TaskState, containerId: String? = nil, ip: String? = nil, exitCode: Int? = nil,
                reason: FinishReason? = nil, message: String? = nil, health: String? = nil) {
        self.taskId = taskId
        self.state = state
        self.containerId = containerId
        self.ip = ip
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.health = health
    }
}

/// The master's answer to a heartbeat.
public struct HeartbeatResponse: Sendable, Equatable {
    /// Changes whenever `assignments` or `kills` change.
    public var assignmentsVersion: UInt64
    /// Every task this agent should be running, with what it needs to run it.
    public var assignments: [TaskAssignment]
    /// Tasks to stop (SIGTERM, grace, SIGKILL) and report as finished.
    public var kills: [String]
    /// The agent is draining: it takes no new tasks (it is told so; the master places none).
    public var drain: Bool
    /// When to send the next heartbeat if nothing happens sooner.
    public var intervalMilliseconds: Int

    public init(assignmentsVersion: UInt64, assignments: [TaskAssignment], kills: [String], drain: Bool = false,
                intervalMilliseconds: Int) {
        self.assignmentsVersion = assignmentsVersion
        self.assignments = assignments
        self.kills = kills
        self.drain = drain
        self.intervalMilliseconds = intervalMilliseconds
    }
}

/// One task for an agent to run.
public struct TaskAssignment: Sendable, Equatable {
    public var taskId: String
    public var jobId: String
    public var index: Int
    public var attempt: Int
    public var container: ContainerSpec
    public var runtimeLimitSeconds: Int?

    public init(taskId: String, jobId: String, index: Int, attempt: Int, container: ContainerSpec, runtimeLimitSeconds: Int?) {
        self.taskId = taskId
        self.jobId = jobId
        self.index = index
        self.attempt = attempt
        self.container = container
        self.runtimeLimitSeconds = runtimeLimitSeconds
    }
}
