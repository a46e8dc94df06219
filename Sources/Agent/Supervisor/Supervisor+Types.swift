import Model
import Shared

extension Supervisor {
    /// Limits and timings. Durations are wall-clock spans compared with the `now` each input carries.
    struct Configuration: Sendable {
        /// `FULLER_METADATA_URL` as injected into every container.
        var metadataURL = "http://127.0.0.1:4711"
        /// The agent's id, written as `fuller.agent` on every container. The agent lists and
        /// adopts only its own containers, so two agents may share a Docker host (development).
        var agentId = "a1"
        /// SIGTERM-to-SIGKILL grace for kills, runtime limits and orphans.
        var stopGraceSeconds = 10
        /// How long a labelled container with no task of ours is left alone before it is stopped
        /// and removed; it is reported in `unknownContainers` meanwhile.
        var orphanGrace: Duration = .seconds(60)
        /// Lines of a failed container's log kept in its Finished report.
        var logTailLines = 50
        /// Bytes of that log text kept (the tail end).
        var logTailBytesMax = 2 * 1024
        /// First and longest wait before an operation that failed transiently is retried.
        var retryInitial: Duration = .seconds(1)
        var retryMax: Duration = .seconds(30)
        /// Tasks the supervisor tracks at most; assignments beyond it are ignored. With the log tail
        /// bound this keeps a heartbeat under the 4 MiB payload limit.
        var tasksMax = 1_000
        /// Containers it tracks at most.
        var containersMax = 8_192
        /// Capabilities, pids and log bounds of every task container.
        var hardening = Hardening()

        init() {}
    }

    /// What the shell must do. Each action names the container or task it concerns; the supervisor
    /// keeps at most one operation in flight per task and per container, so the queue of actions
    /// is bounded by the number of tasks plus containers.
    enum Action: Sendable, Equatable {
        /// Pull `image` because creating the task's container found it missing. Answer: `pulled`.
        case pull(taskId: String, image: String)
        /// `POST /containers/create?name=`. Answer: `created`.
        case create(taskId: String, name: String, config: ContainerCreateConfig)
        /// Answer: `started`.
        case start(taskId: String, containerId: String)
        /// SIGTERM, SIGKILL after `graceSeconds`. Answer: `stopped`.
        case stop(containerId: String, graceSeconds: Int)
        /// Answer: `removed`.
        case remove(containerId: String)
        /// Answer: `inspected`.
        case inspect(containerId: String)
        /// The last `lines` lines of a failed container's output. Answer: `logsFetched`.
        case fetchLogs(taskId: String, containerId: String, lines: Int)
        /// List every `fuller.managed` container (the name of a create conflicts with one we do not
        /// know yet). Answer: `listed`, with the token from `beginList()`.
        case list
        /// One health probe of a task's container (see `Supervisor+Health.swift`). Answer: `probed`.
        case probe(taskId: String, containerId: String, HealthProbe)

        /// Probes run on workers of their own (see `Executor`).
        var isProbe: Bool {
            if case .probe = self { return true }
            return false
        }
    }

    /// An HTTP health probe the agent itself sends to a container's address.
    struct HealthProbe: Sendable, Equatable {
        var host: String
        var port: Int
        var path: String
        var timeout: Duration
    }

    /// The answer to one action, fed back through `actionFinished`.
    enum ActionResult: Sendable {
        case pulled(taskId: String, Result<Void, DockerError>)
        case created(taskId: String, Result<String, DockerError>)
        case started(taskId: String, containerId: String, Result<Void, DockerError>)
        case stopped(containerId: String, Result<Void, DockerError>)
        case removed(containerId: String, Result<Void, DockerError>)
        case inspected(containerId: String, Result<ContainerDetails, DockerError>)
        /// nil when the logs could not be read; the report goes out without them.
        case logsFetched(taskId: String, containerId: String, text: String?)
        /// A health probe's outcome: passed or not, and what was seen (a status, an error).
        case probed(containerId: String, ok: Bool, message: String?)

        /// A probe's message, for logs.
        var probeMessage: String? {
            if case .probed(_, _, let message) = self { return message }
            return nil
        }
    }

    /// An operation in flight for a task or a container.
    enum Pending: Sendable, Equatable {
        case pull, create, start, stop, remove, inspect, logs
    }

    /// One task the master gave this agent (or gave and has not yet seen finish).
    struct TaskRecord: Sendable {
        var assignment: TaskAssignment
        /// In the latest answer's assignments or kills.
        var owned = true
        var killRequested = false
        /// The container created or adopted for the task.
        var containerId: String?
        var pending: Pending?
        var pullAttempted = false
        /// Starts the daemon refused with a 5xx (its own trouble, e.g. while it shuts down):
        /// retried with back-off up to `transientStartFailuresMax` before the task ends.
        var transientStartFailures = 0
        /// Set once the task's outcome is known; never changes afterwards.
        var final: TaskReport?
        /// The failed container's log tail, once fetched (empty when unreadable).
        var logTail: String?
        /// The sequence of the first heartbeat that carried `final`.
        var finalSentInSequence: UInt64?
        var retry = RetryState()
    }

    /// What the supervisor knows of one `fuller.managed` container.
    struct ContainerView: Sendable {
        var id: String
        var taskId: String?
        /// From the list (`created`, `running`, `exited`, …), or from the last inspect.
        var status: String
        /// The last inspect, if any; an inspect is due whenever `stale` is set.
        var details: ContainerDetails?
        var stale = true
        var pending: Pending?
        /// When it was first seen without a task of ours; nil while it has one.
        var orphanSince: Timestamp?
        /// The supervisor's observation counter when this view was learned (see `beginList`).
        var learnedAt: UInt64
        var retry = RetryState()
        /// Docker accepted our start: the task is reported Started at once (the inspect that
        /// follows adds the IP), which keeps an inspect round trip off every task's start.
        var startAccepted = false
        /// The agent-run health check of this container (HTTP checks only), once it runs.
        var health: HealthCheckState?
    }

    /// Bounded exponential retry of a transiently failing operation.
    struct RetryState: Sendable {
        var failures = 0
        var notBefore: Timestamp?

        func allows(_ now: Timestamp) -> Bool { notBefore.map { now >= $0 } ?? true }

        mutating func failed(at now: Timestamp, initial: Duration, max: Duration) {
            failures = Swift.min(failures + 1, 30)
            var delay = initial
            for _ in 1..<failures where delay < max { delay = delay * 2 }
            notBefore = now.advanced(by: Swift.min(delay, max))
        }

        mutating func succeeded() { self = RetryState() }
    }
}
