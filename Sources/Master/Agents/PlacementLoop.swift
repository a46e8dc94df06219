import Dispatch
import Foundation
import JobStore
import Model
import Scheduler
import Shared
import Synchronization

/// Runs the scheduler on the leader: whenever something may let a task be placed (a job
/// submitted, a task finished, an agent registered or recovered) and on a short timer while
/// tasks wait (retry back-offs, agents coming back).
///
/// One iteration at a time, on its own queue: it reads the store and the agents, asks the
/// scheduler for a plan, proposes `Accepted → Launched` for each placement and waits until they
/// are applied before the next iteration reads the store again. So a plan is always made from a
/// store that includes the previous one's placements, and no agent is over-committed.
final class PlacementLoop: Sendable {
    private struct State {
        var requested = false
        var running = false
        var lastUnplaced: [String: [String: Int]] = [:]
        var stopped = false
        /// No agent could take anything in the last iteration: until one comes back, new work
        /// waits for capacity or the next tick instead of costing a scan per submit.
        var noAgents = false
        /// Tasks an iteration found no room for. Later iterations skip them, so they never hold
        /// back the tasks behind them (a full batch of them would otherwise block every task
        /// submitted later); they are tried again when capacity changes, and every
        /// `unplaceableRetryTicks` ticks in case something changed that no trigger reports.
        var unplaceable: Set<String> = []
        var ticks = 0
    }

    /// At most this many tasks are remembered as unplaceable; past it, the rest are simply
    /// tried again in the next iteration.
    static let unplaceableMax = 200_000
    static let unplaceableRetryTicks = 10

    /// Why an iteration is wanted.
    enum Reason {
        /// More tasks to place (a job submitted or scaled up).
        case newWork
        /// Room may have appeared: an agent registered or recovered, a task ended, a drain ended.
        case capacity
        /// The periodic tick.
        case tick
    }

    private let queue = DispatchQueue(label: "fuller.placement")
    private let state = Mutex(State())
    private let store: StoreHandle
    private let registry: AgentRegistry
    private let replicator: any Replicator
    private let configuration: SchedulerConfiguration
    private let metrics: SchedulerMetrics?
    private let nowMs: @Sendable () -> Int64
    private let logger: Logger
    let batchMax: Int
    /// An agent silent for longer than this takes no new tasks.
    let agentSilentAfterMs: Int64
    private let tickMilliseconds: Int
    /// Only the leader places tasks (a follower's store lags, and its proposals would fail).
    private let isLeader: @Sendable () -> Bool
    /// Told how long each scheduling decision took (reading the store and computing the plan).
    private let onIteration: @Sendable (Duration) -> Void
    /// This master's job policy, checked again before a task is placed; nil places everything.
    private let policy: JobPolicy?
    /// Jobs whose kill for breaking the policy is proposed and not yet applied.
    private let policyKills = Mutex<Set<String>>([])

    init(store: StoreHandle, registry: AgentRegistry, replicator: any Replicator,
         configuration: SchedulerConfiguration = SchedulerConfiguration(), metrics: SchedulerMetrics? = nil,
         nowMs: @escaping @Sendable () -> Int64, logger: Logger, batchMax: Int = 1_000, agentSilentAfterMs: Int64 = 30_000,
         tick: Duration = .milliseconds(500), isLeader: @escaping @Sendable () -> Bool = { true },
         policy: JobPolicy? = nil, onIteration: @escaping @Sendable (Duration) -> Void = { _ in }) {
        self.isLeader = isLeader
        self.policy = policy
        self.configuration = configuration
        self.metrics = metrics
        self.onIteration = onIteration
        self.store = store
        self.registry = registry
        self.replicator = replicator
        self.nowMs = nowMs
        self.logger = logger
        self.batchMax = batchMax
        self.agentSilentAfterMs = agentSilentAfterMs
        tickMilliseconds = Int(tick.components.seconds * 1_000 + tick.components.attoseconds / 1_000_000_000_000_000)
        scheduleTick()
    }

    func stop() { state.withLock { $0.stopped = true } }

    /// While tasks wait, look again every tick: back-offs end and agents come back without any
    /// command being applied.
    private func scheduleTick() {
        queue.asyncAfter(deadline: .now() + .milliseconds(tickMilliseconds)) { [self] in
            guard !state.withLock({ $0.stopped }) else { return }
            if store.read({ $0.pendingCount }) > 0 { trigger(.tick) }
            scheduleTick()
        }
    }

    /// Asks for an iteration soon; many requests while one runs make one more, not many.
    func trigger(_ reason: Reason) {
        let start = state.withLock { s -> Bool in
            switch reason {
            case .capacity:
                s.unplaceable = []
                s.noAgents = false
            case .tick:
                s.noAgents = false
                s.ticks += 1
                if s.ticks % Self.unplaceableRetryTicks == 0 { s.unplaceable = [] }
            case .newWork:
                if s.noAgents { return false }
            }
            s.requested = true
            guard !s.running else { return false }
            s.running = true
            return true
        }
        if start { queue.async { [self] in self.drain() } }
    }

    /// The reasons each still-pending task was refused in the last iteration.
    func unplacedReasons(_ taskId: String) -> [String: Int]? { state.withLock { $0.lastUnplaced[taskId] } }

    private func drain() {
        while state.withLock({ s -> Bool in
            guard s.requested else { s.running = false; return false }
            s.requested = false
            return true
        }) {
            iterate()
        }
    }

    private func iterate() {
        guard isLeader() else { return }
        let now = nowMs()
        let agents = registry.entries()
        // With no agent able to take anything, there is nothing to decide: do not scan the
        // store (a scan of every pending task holds its lock).
        guard agents.contains(where: { $0.healthy && !$0.drain && now - $0.lastHeartbeatMs <= agentSilentAfterMs }) else {
            state.withLock { $0.noAgents = true }
            return
        }
        let started = ContinuousClock.now
        let skipping = state.withLock { $0.unplaceable }
        var input = store.read { s in
            Self.input(store: s, agents: agents, nowMs: now, silentAfterMs: agentSilentAfterMs, limit: batchMax, skipping: skipping)
        }
        refusePolicyBreakers(&input, nowMs: now)
        guard !input.pending.isEmpty else { return }
        // Equal agents are ordered from a seed; the iteration's time makes it vary between
        // iterations (so ties do not always land on the same agent) yet a plan is replayable.
        var random = SeededRandom(seed: UInt64(bitPattern: now))
        let plan = ClusterScheduler.plan(input, configuration: configuration, random: &random)
        onIteration(started.duration(to: .now))
        metrics?.observe(plan)
        state.withLock { s in
            // Explanations stay for the tasks still skipped; the rest come from this plan.
            s.lastUnplaced = s.lastUnplaced.filter { s.unplaceable.contains($0.key) }.merging(plan.unplaced) { $1 }
            for id in plan.unplaced.keys where s.unplaceable.count < Self.unplaceableMax { s.unplaceable.insert(id) }
        }
        guard !plan.placements.isEmpty else { return }
        let totals = Dictionary(input.agents.map { ($0.id, $0.total) }, uniquingKeysWith: { a, _ in a })
        let done = DispatchGroup()
        for placement in plan.placements {
            done.enter()
            let update = TaskUpdate(taskId: placement.taskId, state: .launched, agentId: placement.agentId,
                                    agentTotal: totals[placement.agentId], atMs: now)
            replicator.propose(.updateTask(update)) { result in
                if case .success(.rejected(let error)) = result {
                    self.metrics?.commitRefused()
                    self.logger.warn("placement refused at commit", ["error": .string("\(error)")])
                }
                done.leave()
            }
        }
        if done.wait(timeout: .now() + .seconds(30)) == .timedOut {
            logger.warn("placements not applied within 30 s", ["count": .int(Int64(plan.placements.count))])
        }
        // A full batch means more tasks may be waiting behind it.
        if input.pending.count == batchMax { state.withLock { $0.requested = true } }
    }

    /// The job policy is checked at submit, but an entry in the log may come from a leader with
    /// other flags, an older build, or a peer that was taken over. So a task is placed only if
    /// this leader's policy allows its job now; a job it refuses is killed (one command through
    /// the log, so every member agrees) instead of placed, and the refusal is logged with the
    /// field. Apply itself stays policy-free: flags may differ between masters, and apply must
    /// give the same result on every member.
    private func refusePolicyBreakers(_ input: inout SchedulingInput, nowMs: Int64) {
        guard let policy, !input.pending.isEmpty else { return }
        let refused = store.read { s in
            Set(input.pending.map(\.jobId)).compactMap { id in s.job(id).flatMap { policy.refusal($0.spec.container) }.map { (id, $0) } }
        }
        guard !refused.isEmpty else { return }
        let ids = Set(refused.map(\.0))
        input.pending.removeAll { ids.contains($0.jobId) }
        for (jobId, refusal) in refused where policyKills.withLock({ $0.insert(jobId).inserted }) {
            logger.warn("killing a job this master's policy refuses", ["job": .string(jobId), "field": .string(refusal.field),
                                                                        "reason": .string(refusal.message)])
            replicator.propose(.killJob(jobId: jobId, atMs: nowMs)) { [self] _ in _ = policyKills.withLock { $0.remove(jobId) } }
        }
    }

    /// The snapshot one iteration schedules against. Cheap: agent use comes from the store's
    /// per-agent load index, and only the jobs of pending tasks that track their placements
    /// (uniqueHost, zoneBalance) have their tasks' agents listed.
    static func input(store: JobStore, agents: [AgentRegistry.Entry], nowMs: Int64, silentAfterMs: Int64, limit: Int,
                      skipping: Set<String> = []) -> SchedulingInput {
        var placed: [String: [String]] = [:]
        let pending = store.pendingTasks(nowMs: nowMs, limit: limit, skipping: skipping).compactMap { task -> PendingTask? in
            guard let job = store.job(task.jobId) else { return nil }
            let spec = job.spec
            if placed[task.jobId] == nil && Self.tracksPlacements(spec.constraints) {
                placed[task.jobId] = store.liveTasks(ofJob: task.jobId).compactMap(\.agentId)
            }
            return PendingTask(id: task.id, jobId: task.jobId, resources: spec.container.resources, tier: spec.tier,
                               capacityGroup: spec.capacityGroup, constraints: spec.constraints,
                               jobSize: spec.batch?.size ?? spec.service?.capacity.desired ?? 1)
        }
        let views = agents.map { entry -> AgentView in
            let load = store.agentLoads[entry.registration.id] ?? AgentLoad()
            var attributes = entry.registration.attributes
            attributes["hostname"] = entry.registration.hostname
            let fresh = nowMs - entry.lastHeartbeatMs <= silentAfterMs
            return AgentView(id: entry.registration.id, attributes: attributes, total: entry.registration.resources,
                             used: load.used, taskCount: load.taskCount, exclusive: load.exclusiveTaskCount > 0,
                             schedulable: entry.healthy && !entry.drain && fresh)
        }
        return SchedulingInput(agents: views, pending: pending, placed: placed, groupUsage: store.groupUsage)
    }

    private static func tracksPlacements(_ c: Constraints) -> Bool {
        ["uniqueHost", "zoneBalance"].contains { c.hard[$0] == "true" || c.soft[$0] == "true" }
    }
}
