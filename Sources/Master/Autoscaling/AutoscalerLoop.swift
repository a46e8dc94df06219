import Autoscaler
import Dispatch
import JobStore
import Model
import Shared
import Synchronization

/// Runs the autoscaler on the leader: every `interval` it reads the agents and the pending
/// tasks, asks the core (`Autoscaler`) what to do, and does it. Drains happen at once in the
/// agent registry; scale-ups and scale-downs run the provider on a worker thread (one at a
/// time per group; the core does not plan another for a group until it hears back), and a
/// terminated agent is retired from the registry. A master that stops leading forgets the
/// core's memory; the next leader starts from what it sees.
final class AutoscalerLoop: Sendable {
    struct Settings: Sendable {
        var rules: AutoscalerRules
        var interval: Duration = .seconds(5)
        /// Replaces the executable provider of the rules (tests).
        var provider: (any AutoscalerProvider)?

        init(rules: AutoscalerRules, interval: Duration = .seconds(5), provider: (any AutoscalerProvider)? = nil) {
            self.rules = rules
            self.interval = interval
            self.provider = provider
        }
    }

    /// A reference to the state, so the provider and the metrics can read it before `self` exists.
    private final class StateBox: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }

    private struct State {
        var core: Autoscaler
        var leading = false
        var stopped = false
        var providerCalls = 0
    }

    /// Pending tasks one evaluation looks at, at most.
    static let pendingMax = 10_000

    let settings: Settings
    private let box: StateBox
    private let queue = DispatchQueue(label: "fuller.autoscaler")
    private let provider: any AutoscalerProvider
    private let store: StoreHandle
    private let registry: AgentRegistry
    private let isLeader: @Sendable () -> Bool
    private let nowMs: @Sendable () -> Int64
    private let silentAfterMs: Int64
    private let masterURL: @Sendable () -> String
    private let onCapacity: @Sendable () -> Void
    private let logger: Logger
    private let actionsTotal: CounterFamily

    init(settings: Settings, store: StoreHandle, registry: AgentRegistry, isLeader: @escaping @Sendable () -> Bool,
         nowMs: @escaping @Sendable () -> Int64, silentAfterMs: Int64, masterURL: @escaping @Sendable () -> String,
         onCapacity: @escaping @Sendable () -> Void, metrics: MetricsRegistry, logger: Logger) {
        self.settings = settings
        let box = StateBox(State(core: Autoscaler(rules: settings.rules)))
        self.box = box
        self.store = store
        self.registry = registry
        self.isLeader = isLeader
        self.nowMs = nowMs
        self.silentAfterMs = silentAfterMs
        self.masterURL = masterURL
        self.onCapacity = onCapacity
        let logger = logger.with(["part": .string("autoscaler")])
        self.logger = logger
        provider = settings.provider ?? ExecutableProvider(configuration: settings.rules.provider, logger: logger,
                                                           stopping: { box.state.withLock { $0.stopped } })
        actionsTotal = metrics.counter("fuller_autoscaler_actions_total",
                                       help: "Autoscaler actions by group, kind and result (succeeded or failed).",
                                       labels: ["group", "kind", "result"])
        metrics.gaugeFunction("fuller_autoscaler_agents", help: "Agents of each autoscaled group by state (leader only).",
                              labels: ["group", "state"]) {
            box.state.withLock { $0.core.status }.groups.flatMap { g in
                [("idle", g.idle), ("busy", g.busy), ("draining", g.draining), ("other", g.other), ("expected", g.expected)]
                    .map { (labelValues: [g.rule.name, $0.0], value: Double($0.1)) }
            }
        }
    }

    /// Evaluates at once (a fresh `dev --autoscale` gets its first agent without waiting an
    /// interval), then every interval.
    func start() {
        queue.async { [self] in
            guard !box.state.withLock({ $0.stopped }) else { return }
            evaluate()
            scheduleTick()
        }
    }

    /// Provider calls still running when the loop stops.
    private let calls = DispatchGroup()

    /// Stops evaluating, then waits (at most `grace`) for provider calls already running, so a
    /// stopping `dev` does not stop its agents while a scale-up is still starting one. A
    /// stopping loop makes no further attempts of an action.
    func stop(grace: Duration = .seconds(30)) {
        box.state.withLock { $0.stopped = true }
        if calls.wait(timeout: .now() + .milliseconds(Int(grace.wholeMilliseconds))) == .timedOut {
            logger.warn("autoscaler provider calls still running at shutdown")
        }
    }

    var status: AutoscalerStatus { box.state.withLock { $0.core.status } }

    private func scheduleTick() {
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(settings.interval.wholeMilliseconds))) { [self] in
            guard !box.state.withLock({ $0.stopped }) else { return }
            evaluate()
            scheduleTick()
        }
    }

    /// One evaluation (on the loop's queue, or a test's thread).
    func evaluate() {
        let leading = isLeader()
        let wasLeading = box.state.withLock { s -> Bool in
            defer { s.leading = leading }
            if !leading && s.leading { s.core = Autoscaler(rules: settings.rules) }
            return s.leading
        }
        guard leading else { return }
        if !wasLeading { logger.info("autoscaler active", ["groups": .int(Int64(settings.rules.groups.count))]) }
        let input = self.input(nowMs: nowMs())
        let actions = box.state.withLock { $0.core.plan(input) }
        for action in actions { perform(action, currentSize: input.agents.filter { $0.group == action.group }.count) }
    }

    private func input(nowMs now: Int64) -> AutoscalerInput {
        let entries = registry.entries()
        return store.read { s in
            let agents = entries.map { e -> AgentSnapshot in
                let tasks = s.tasks(onAgent: e.registration.id)
                var used = Resources.zero
                var jobIds = Set<String>()
                for task in tasks {
                    jobIds.insert(task.jobId)
                    if let job = s.job(task.jobId) { used = used + job.spec.container.resources }
                }
                return AgentSnapshot(id: e.registration.id, attributes: e.registration.attributes, total: e.registration.resources,
                                     used: used, taskCount: tasks.count, jobIds: jobIds, draining: e.drain,
                                     responsive: e.healthy && now - e.lastHeartbeatMs <= silentAfterMs, registeredAtMs: e.registeredAtMs)
            }
            let pending = s.pendingTasks(nowMs: now, limit: Self.pendingMax).compactMap { task -> PendingDemand? in
                guard let job = s.job(task.jobId) else { return nil }
                return PendingDemand(id: task.id, jobId: task.jobId, resources: job.spec.container.resources,
                                     hardConstraints: job.spec.constraints.hard)
            }
            return AutoscalerInput(nowMs: now, agents: agents, pending: pending)
        }
    }

    private func perform(_ action: AutoscalerAction, currentSize: Int) {
        logger.info("autoscaler action", ["id": .int(Int64(action.id)), "group": .string(action.group),
                                          "kind": .string(action.kind.rawValue), "count": .int(Int64(action.count)),
                                          "agents": .string(action.agentIds.joined(separator: ",")), "reason": .string(action.reason)])
        switch action.kind {
        case .drain, .undrain:
            let found = action.agentIds.allSatisfy { registry.setDrain($0, action.kind == .drain) }
            if action.kind == .undrain { onCapacity() }
            finish(action, found ? .succeeded(agentIds: [], message: nil, attempts: 1)
                                 : .failed(message: "the agent is no longer registered", attempts: 1))
        case .scaleUp, .scaleDown:
            guard let group = settings.rules.group(action.group) else { preconditionFailure("an action for an unknown group") }
            let context = ProviderContext(masterURL: masterURL(), currentSize: currentSize)
            // A queue of its own (overcommit): the provider blocks for up to its timeout times its
            // attempts, which must not hold one of the few global-queue threads timers run on.
            DispatchQueue(label: "fuller.autoscaler.provider").async(group: calls) { [self] in
                let outcome = provider.perform(action, group: group, context: context)
                if action.kind == .scaleDown, case .succeeded = outcome {
                    let now = nowMs()
                    registry.retire(action.agentIds, untilMs: now + Autoscaler.retiredMemoryMilliseconds, nowMs: now)
                }
                finish(action, outcome)
            }
        }
    }

    private func finish(_ action: AutoscalerAction, _ outcome: ActionOutcome) {
        let result: String
        switch outcome {
        case let .succeeded(agents, message, attempts):
            result = "succeeded"
            logger.info("autoscaler action succeeded", ["id": .int(Int64(action.id)), "agents": .string(agents.joined(separator: ",")),
                                                        "attempts": .int(Int64(attempts)), "message": .string(message ?? "")])
        case let .failed(message, attempts):
            result = "failed"
            logger.error("autoscaler action failed", ["id": .int(Int64(action.id)), "group": .string(action.group),
                                                      "kind": .string(action.kind.rawValue), "attempts": .int(Int64(attempts)),
                                                      "error": .string(message)])
        }
        actionsTotal.labels(action.group, action.kind.rawValue, result).increment()
        let now = nowMs()
        box.state.withLock { $0.core.finished(action.id, outcome, nowMs: now) }
    }
}
