import Dispatch
import JobStore
import Model
import Reconciler
import Shared
import Synchronization

/// Runs the reconciler (`Sources/Master/Reconciler`) on the leader: every `interval`, and soon
/// after a heartbeat that changes the picture (a task appears or vanishes, an unknown
/// container, an unhealthy task). Passes run one at a time on their own queue, at least
/// `gapMin` apart; each proposes the store changes the pass returned (skipping those already
/// in flight), hands the kills to heartbeat answers (waking the agents whose kills changed),
/// logs every action with its reason and counts it in `fuller_reconcile_actions_total`.
///
/// Soft state only: the last reports of each agent and the reconciler's memory. A master that
/// is not the leader, or not ready, keeps no reconciler; the next leader starts its own.
final class ReconcileLoop: Sendable {
    /// The latest heartbeat of one agent process, summarised once (not once per pass).
    struct Observed: Sendable {
        var sequence: UInt64
        var observation: AgentObservation
    }

    private struct State {
        var core: Reconciler?
        var observed: [String: Observed] = [:]
        var kills: [String: Set<String>] = [:]
        var inFlight: Set<String> = []
        var requested = false
        var running = false
        var stopped = false
    }

    let configuration: ReconcilerConfiguration
    let interval: Duration
    let gapMin: Duration
    static let inFlightMax = 65_536
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "fuller.reconcile")
    /// Set by `start`: the agents, and whether this master leads and has applied everything it
    /// knows committed.
    private let wiring = Mutex<(registry: AgentRegistry, isActive: @Sendable () -> Bool)?>(nil)
    private let store: StoreHandle
    private let replicator: any Replicator
    private let logger: Logger
    private let nowMs: @Sendable () -> Int64
    private let actionsTotal: CounterFamily
    private let passSeconds: Histogram

    init(configuration: ReconcilerConfiguration, interval: Duration = .seconds(2), gapMin: Duration = .milliseconds(200),
         store: StoreHandle, replicator: any Replicator, metrics: MetricsRegistry, logger: Logger,
         nowMs: @escaping @Sendable () -> Int64) {
        self.configuration = configuration
        self.interval = interval
        self.gapMin = gapMin
        self.store = store
        self.replicator = replicator
        var logger = logger
        logger.component = "reconciler"
        self.logger = logger
        self.nowMs = nowMs
        actionsTotal = metrics.counter("fuller_reconcile_actions_total", help: "Reconciler actions, by kind (docs/reconciler.md).",
                                       labels: ["kind"])
        passSeconds = metrics.histogram("fuller_reconcile_pass_duration_seconds", help: "Time of one reconciler pass.")
    }

    /// Starts the timer; the registry supplies agents and carries the kills. Passes run only
    /// while `isActive` (the master leads and has applied all it knows committed).
    func start(registry: AgentRegistry, isActive: @escaping @Sendable () -> Bool) {
        wiring.withLock { $0 = (registry, isActive) }
        scheduleTick()
    }

    func stop() { state.withLock { $0.stopped = true } }

    /// A (re)registered agent is a new process: its heartbeat sequence starts again.
    func registered(_ agentId: String) {
        state.withLock { _ = $0.observed.removeValue(forKey: agentId) }
    }

    /// Keeps the newest heartbeat of a registered agent; asks for a pass if it changes anything
    /// the reconciler looks at.
    func observe(_ agentId: String, _ beat: HeartbeatRequest) {
        var reports: [String: TaskReport] = [:]
        reports.reserveCapacity(beat.reports.count)
        for report in beat.reports { reports[report.taskId] = report }
        let observation = AgentObservation(lastHeardMs: 0, reports: reports, unknownContainers: beat.unknownContainers)
        let interesting = state.withLock { s -> Bool in
            let previous = s.observed[agentId]?.observation.reports
            if let seen = s.observed[agentId], seen.sequence > beat.sequence { return false }
            s.observed[agentId] = Observed(sequence: beat.sequence, observation: observation)
            guard let previous else { return true }
            // A new or vanished task, an unknown container, an unhealthy task, or a task newly
            // finished (it may confirm a kill, which then ends at once).
            return !beat.unknownContainers.isEmpty || previous.count != reports.count
                || beat.reports.contains { report in
                    guard let before = previous[report.taskId] else { return true }
                    return report.health == "unhealthy" || (report.state == .finished && before.state != .finished)
                }
        }
        if interesting { trigger() }
    }

    /// The tasks `agentId` must kill on the reconciler's behalf, for its heartbeat answer.
    func kills(for agentId: String) -> [String] {
        state.withLock { $0.kills[agentId].map { $0.sorted() } ?? [] }
    }

    /// Asks for a pass soon; many requests while one runs make one more, not many.
    func trigger() {
        let start = state.withLock { s -> Bool in
            s.requested = true
            guard !s.running, !s.stopped else { return false }
            s.running = true
            return true
        }
        if start { queue.async { [self] in drain() } }
    }

    private func scheduleTick() {
        queue.asyncAfter(deadline: .now() + interval.dispatchInterval) { [self] in
            guard !state.withLock({ $0.stopped }) else { return }
            trigger()
            scheduleTick()
        }
    }

    private func drain() {
        guard state.withLock({ s -> Bool in
            guard s.requested, !s.stopped else { s.running = false; return false }
            s.requested = false
            return true
        }) else { return }
        runPass()
        // Wait at least `gapMin` before the next pass, however many heartbeats asked for one.
        queue.asyncAfter(deadline: .now() + gapMin.dispatchInterval) { [self] in drain() }
    }

    private func runPass() {
        guard let (registry, isActive) = wiring.withLock({ $0 }), isActive() else {
            state.withLock { s in s.core = nil; s.kills = [:] }
            return
        }
        let started = ContinuousClock.now
        let now = nowMs()
        // Agents first, then the store (ReconcileInput's ordering contract).
        let entries = registry.entries()
        let observed = state.withLock { $0.observed }
        var agents: [String: AgentObservation] = [:]
        agents.reserveCapacity(entries.count)
        for entry in entries {
            var observation = observed[entry.registration.id]?.observation ?? AgentObservation(lastHeardMs: 0)
            observation.lastHeardMs = entry.lastHeartbeatMs
            agents[entry.registration.id] = observation
        }
        let input = ReconcileInput(store: store.copy(), agents: agents, nowMs: now)
        var core = state.withLock { $0.core } ?? Reconciler(configuration: configuration)
        let output = core.pass(input)
        state.withLock { s in s.core = core; s.kills = output.kills }
        if !output.killsChanged.isEmpty { registry.notify(output.killsChanged) }
        for action in output.actions { perform(action) }
        let took = (ContinuousClock.now - started).components
        passSeconds.observe(Double(took.seconds) + Double(took.attoseconds) / 1e18)
    }

    /// Proposes an action's store change (once while in flight), then logs and counts it.
    private func perform(_ action: ReconcileAction) {
        if let update = action.update {
            let key = "\(update.taskId)/\(update.state.rawValue)"
            let fresh = state.withLock { s -> Bool in
                guard s.inFlight.count < Self.inFlightMax, !s.inFlight.contains(key) else { return false }
                s.inFlight.insert(key)
                return true
            }
            guard fresh else { return }
            replicator.propose(.updateTask(update)) { [self] result in
                state.withLock { _ = $0.inFlight.remove(key) }
                if case .success(.rejected(let error)) = result {
                    logger.debug("reconciler change refused", ["task": .string(update.taskId), "error": .string("\(error)")])
                }
            }
        }
        var fields: [String: LogValue] = ["kind": .string(action.kind.rawValue), "reason": .string(action.reason)]
        if let v = action.taskId { fields["task"] = .string(v) }
        if let v = action.agentId { fields["agent"] = .string(v) }
        if let v = action.containerId { fields["container"] = .string(v) }
        logger.info("reconcile", fields)
        actionsTotal.labels(action.kind.rawValue).increment()
    }
}
