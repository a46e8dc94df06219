import Model
import Shared
import Synchronization

/// Docker as the agent last found it.
struct DockerHealth: Sendable, Equatable {
    var available: Bool
    /// Why Docker is unavailable (the last error), or nil.
    var message: String?

    static let unknown = DockerHealth(available: false, message: "docker not contacted yet")
}

/// The supervisor's shell: owns the `Supervisor` behind a `Mutex`, performs its actions against a
/// `DockerEngine` with a bounded number in flight, and feeds every outcome back.
///
/// It learns of container changes three ways: the outcome of its own actions; Docker's `/events`
/// stream (filtered on `fuller.managed=true`), which reports an exit within milliseconds; and a
/// full list every `listInterval`, after an event stream error, and while Docker is down (with
/// bounded backoff) until it answers again, which is also how it recovers without losing track
/// of a container: the list re-adopts them all.
///
/// Health probes (`Supervisor.Action.probe`) go to a queue and workers of their own
/// (`maxProbesInFlight`), so a slow probe never delays a Docker call, nor a busy daemon a probe.
///
/// Ordering contracts: actions are queued in the order the supervisor returns them, and at most
/// one is in flight per task and per container (the supervisor guarantees that), so the queue
/// never holds more than tasks plus containers. `heartbeat(sequence:)` marks reports sent before
/// the caller sends them; `apply(_:requestSequence:)` must get that same sequence.
final class Executor: Sendable {
    struct Configuration: Sendable {
        /// Docker calls in flight at most.
        var maxInFlight = 16
        /// Health probes in flight at most. They have workers of their own, so slow probes never
        /// hold up Docker calls (nor the other way round).
        var maxProbesInFlight = 8
        var listInterval: Duration = .seconds(10)
        /// How often time-based rules (runtime limits, orphan grace, retries) are checked.
        var tickInterval: Duration = .seconds(1)
        /// How long a failed container's log tail may take before the report goes without it.
        var logsTimeout: Duration = .seconds(2)
        /// Backoff between attempts to reach Docker while it is down, and between event streams.
        var recoveryInitial: Duration = .milliseconds(250)
        var recoveryMax: Duration = .seconds(10)
        var supervisor = Supervisor.Configuration()
        /// What this agent's operator allows task containers (checked before every create).
        var policy = AgentPolicy()

        init() {}
    }

    struct State {
        var supervisor: Supervisor
        var queue = ActionQueue()
        /// Health probes waiting for a probe worker.
        var probes = ActionQueue()
        var health = DockerHealth.unknown
        /// Whether a full list should run at the next opportunity.
        var listWanted = true
        var lastList: Timestamp?
        var reportsVersionSeen: UInt64 = 0
        /// The callers (and starting count) last handed to `callerSink`.
        var callersPublished: [TaskIdentity] = []
        var startingPublished = 0
    }

    let configuration: Configuration
    let engine: any DockerEngine
    let wallClock: WallClock
    let logger: Logger
    let metrics: AgentMetrics
    /// Bumped when reports, unknown containers or Docker's health change.
    let changes = ChangeSignal()
    /// Waits for a duration; a manual clock in tests.
    let sleep: @Sendable (Duration) async throws -> Void
    let state: Mutex<State>
    /// Told the running tasks' identities whenever they change (the metadata endpoint).
    let callerSink: (any CallerSink)?

    init(engine: any DockerEngine, configuration: Configuration = Configuration(), wallClock: WallClock = .system,
         logger: Logger = Logger(component: "executor"), metrics: AgentMetrics = AgentMetrics(), callerSink: (any CallerSink)? = nil,
         sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        precondition(configuration.maxInFlight > 0 && configuration.maxProbesInFlight > 0)
        self.callerSink = callerSink
        self.engine = engine
        self.metrics = metrics
        self.configuration = configuration
        self.wallClock = wallClock
        self.logger = logger
        self.sleep = sleep
        self.state = Mutex(State(supervisor: Supervisor(configuration: configuration.supervisor)))
        metrics.registry.gaugeFunction("fuller_agent_containers", help: "This agent's containers by Docker state.",
                                       labels: ["state"]) { [weak self] in
            self?.containerCounts().map { (labelValues: [$0.key], value: Double($0.value)) } ?? []
        }
    }

    /// Docker's states a container of ours can be in; anything else (not inspected yet) is `unknown`.
    static let containerStates = ["created", "running", "paused", "restarting", "removing", "exited", "dead", "unknown"]

    /// This agent's containers by their last known Docker state, every state present (zero or more).
    func containerCounts() -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Self.containerStates.map { ($0, 0) })
        state.withLock { state in
            for view in state.supervisor.containers.values {
                let status = view.details?.status ?? view.status
                counts[counts[status] == nil ? "unknown" : status, default: 0] += 1
            }
        }
        return counts
    }

    /// Runs until the task is cancelled: workers, the event watcher and the maintenance loop.
    /// Cancelling leaves every container as it is (a restarted agent adopts them).
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<configuration.maxInFlight {
                group.addTask { await self.worker(probes: false) }
            }
            for _ in 0..<configuration.maxProbesInFlight {
                group.addTask { await self.worker(probes: true) }
            }
            group.addTask { await self.watchEvents() }
            group.addTask { await self.maintain() }
            await group.waitForAll()
        }
    }

    // MARK: The heartbeat loop's view

    var health: DockerHealth { state.withLock { $0.health } }

    /// The heartbeat to send as `sequence`; its reports count as sent from here on.
    func heartbeat(sequence: UInt64, waitMilliseconds: Int) -> HeartbeatRequest {
        state.withLock { state in
            state.supervisor.willSend(sequence: sequence)
            return HeartbeatRequest(sequence: sequence, assignmentsVersion: state.supervisor.assignmentsVersion,
                                    healthy: state.health.available, message: state.health.message,
                                    reports: state.supervisor.reports,
                                    unknownContainers: state.supervisor.unknownContainers,
                                    waitMilliseconds: waitMilliseconds)
        }
    }

    /// The master's answer to heartbeat `requestSequence`.
    func apply(_ response: HeartbeatResponse, requestSequence: UInt64) {
        let now = wallClock.now()
        feed { $0.assignments(response, requestSequence: requestSequence, now: now) }
    }

    // MARK: Feeding the supervisor

    /// Runs one supervisor input under the lock, queues its actions, and outside the lock hands
    /// them to idle workers and signals report changes. Changed callers go to `callerSink` under
    /// the lock, so the sink sees every change in order (it takes only its own lock).
    func feed(_ input: (inout Supervisor) -> [Supervisor.Action]) {
        let (handoffs, changed) = state.withLock { state in
            let actions = input(&state.supervisor)
            count(actions)
            if let callerSink {
                let callers = state.supervisor.callers, starting = state.supervisor.startingCallers
                if callers != state.callersPublished || starting != state.startingPublished {
                    state.callersPublished = callers
                    state.startingPublished = starting
                    callerSink.callersChanged(callers, starting: starting)
                }
            }
            let handoffs = state.queue.push(actions.filter { !$0.isProbe }) + state.probes.push(actions.filter(\.isProbe))
            let changed = state.supervisor.reportsVersion != state.reportsVersionSeen
            state.reportsVersionSeen = state.supervisor.reportsVersion
            return (handoffs, changed)
        }
        for (waiter, action) in handoffs { waiter.resume(returning: action) }
        if changed { changes.bump() }
    }

    /// Counts the supervisor's actions by kind (they are what reconciliation does).
    private func count(_ actions: [Supervisor.Action]) {
        for action in actions { metrics.reconcileActions.labels(action.metricKind).increment() }
    }

    /// Records what Docker's last answer says about its health (only `daemonUnavailable` means
    /// it is down; any other answer means it is up); a change is signalled.
    func noteDocker(_ error: DockerError?) {
        let health = if case .daemonUnavailable(let message)? = error {
            DockerHealth(available: false, message: "docker unavailable: \(message)")
        } else {
            DockerHealth(available: true, message: nil)
        }
        let changed = state.withLock { state in
            defer { state.health = health }
            if !health.available { state.listWanted = true }
            return state.health != health
        }
        guard changed else { return }
        if health.available {
            logger.info("docker available")
        } else {
            logger.warn("docker unavailable", ["error": .string(health.message ?? "")])
        }
        changes.bump()
    }

    private func worker(probes: Bool) async {
        while !Task.isCancelled, let action = await nextAction(probes: probes) {
            await perform(action)
        }
    }
}
