import JobStore
import Model

/// The master's reconciler: compares the store with what agents report and returns what must
/// change. A pure value (no clock, no I/O): time comes in with each `ReconcileInput`, and the
/// only memory between passes is soft (since when a task has been missing or unhealthy, which
/// kills were sent), so a new leader starts it afresh and at worst waits one grace longer.
///
/// Per placed, unfinished task, by its agent's silence `s` (now − last heartbeat, counted from
/// no earlier than this reconciler's first pass):
/// ```
///  s > lostAfter ───────────────► Finished/lost (replaced per retry policy)
///  s > disconnectedAfter ───────► Disconnected (Launched, StartInitiated, Started)
///  connected, not reported ─────► after missingGrace: Finished/lost      (StartInitiated, Started, Disconnected)
///  Launched > launchedTimeout ──► KillInitiated/stuckInState ──► agent kill ──► Finished, replaced
///  StartInitiated > timeout ────► KillInitiated/stuckInState
///  KillInitiated > timeout ─────► Finished (the kill's own reason; the message says stuck)
///  service, reported unhealthy for one check interval ──► KillInitiated/failed, within the
///                                  job's disruption budget (default: one task at a time)
/// ```
/// Per connected agent: a reported task the store does not place there, and an unknown
/// container whose task the store has finished, become kills in its heartbeat answers.
public struct Reconciler: Sendable {
    public let configuration: ReconcilerConfiguration
    /// The first pass: silences are counted from here, so a new leader gives every agent the
    /// full timeouts to find it.
    public private(set) var startedAtMs: Int64?
    var missingSince: [String: Int64] = [:]
    var unhealthyFrom: [String: Int64] = [:]
    var deferred: Set<String> = []
    var unmatchedNoted: Set<String> = []
    /// Per agent: tasks killed by label for unmatched containers that the agent confirmed.
    var confirmed: [String: Set<String>] = [:]
    public private(set) var kills: [String: Set<String>] = [:]

    let launchedMs, startInitiatedMs, killInitiatedMs, disconnectedMs, lostMs, graceMs: Int64

    public init(configuration: ReconcilerConfiguration = ReconcilerConfiguration()) {
        self.configuration = configuration
        let ms = ReconcilerConfiguration.milliseconds
        launchedMs = ms(configuration.launchedTimeout)
        startInitiatedMs = ms(configuration.startInitiatedTimeout)
        killInitiatedMs = ms(configuration.killInitiatedTimeout)
        disconnectedMs = ms(configuration.agentDisconnectedAfter)
        lostMs = ms(configuration.agentLostAfter)
        graceMs = ms(configuration.missingGrace)
    }

    /// What one pass collects before it decides. Agents are numbered once per pass so that
    /// each task costs one lookup of its agent.
    struct Pass {
        let input: ReconcileInput
        let startedAtMs: Int64
        let slots: [String: Int]
        let silences: [Int64]
        /// Per slot: the agent's reports, when some say `starting` or `unhealthy` (else nil).
        let notedReports: [[String: TaskReport]?]
        var actions: [ReconcileAction] = []
        /// Tasks that already have a store change in this pass.
        var acted: Set<String> = []
        var missing: [String: Int64] = [:]
        var unhealthy: [String: Int64] = [:]
        var deferred: Set<String> = []
        /// Per agent slot: the digest of the tasks the store places there (connected agents).
        var placed: [TaskSetDigest]

        init(input: ReconcileInput, startedAtMs: Int64) {
            self.input = input
            self.startedAtMs = startedAtMs
            var slots: [String: Int] = [:], silences: [Int64] = [], noted: [[String: TaskReport]?] = []
            slots.reserveCapacity(input.agents.count)
            for (id, observation) in input.agents {
                slots[id] = silences.count
                silences.append(input.nowMs - max(observation.lastHeardMs, startedAtMs))
                noted.append(observation.healthNoted ? observation.reports : nil)
            }
            self.slots = slots
            self.silences = silences
            notedReports = noted
            placed = Array(repeating: TaskSetDigest(), count: silences.count)
        }

        var now: Int64 { input.nowMs }

        /// An agent this master has not heard from since it started reconciling is silent since then.
        func silenceMs(_ agentId: String) -> Int64 {
            slots[agentId].map { silences[$0] } ?? now - startedAtMs
        }

        mutating func act(_ action: ReconcileAction) {
            if let id = action.update?.taskId { acted.insert(id) }
            actions.append(action)
        }
    }

    /// One pass over every placed task and every agent.
    public mutating func pass(_ input: ReconcileInput) -> ReconcileOutput {
        let started = startedAtMs ?? input.nowMs
        startedAtMs = started
        var pass = Pass(input: input, startedAtMs: started)
        input.store.forEachActiveJob { job, tasks in checkJob(job, tasks, &pass) }
        var output = ReconcileOutput()
        output.kills = checkAgents(&pass)
        output.killsChanged = Set(output.kills.keys).union(kills.keys).filter { output.kills[$0] != kills[$0] }
        kills = output.kills
        missingSince = pass.missing
        unhealthyFrom = pass.unhealthy
        deferred = pass.deferred
        output.actions = Self.limited(pass.actions, commandsMax: configuration.commandsPerPassMax)
        return output
    }

    /// Sorted; store changes beyond the limit wait for a later pass.
    static func limited(_ actions: [ReconcileAction], commandsMax: Int) -> [ReconcileAction] {
        let sorted = actions.sorted { a, b in
            (a.taskId ?? "", a.containerId ?? "", a.kind) < (b.taskId ?? "", b.containerId ?? "", b.kind)
        }
        var commands = 0
        return sorted.filter { action in
            guard action.update != nil else { return true }
            commands += 1
            return commands <= commandsMax
        }
    }

    /// Every unfinished task of one job; then the job's unhealthy tasks against its budget.
    private func checkJob(_ job: Job, _ tasks: Dictionary<Int, JobTask>.Values, _ pass: inout Pass) {
        var unfinished = 0, available = 0
        var candidates: [(since: Int64, task: JobTask)] = []
        for task in tasks where !task.isFinished {
            unfinished += 1
            guard let agentId = task.agentId else { continue }
            let before = pass.actions.count
            let health = checkTask(task, on: agentId, &pass)
            guard pass.actions.count == before, task.state == .started, let health else { continue }
            // A replacement is still being replaced until its health check has passed once.
            if health != .starting { available += 1 }
            if health == .unhealthy, let since = unhealthySince(task, job, &pass) { candidates.append((since, task)) }
        }
        guard !candidates.isEmpty else { return }
        replaceUnhealthy(job, candidates, disrupted: unfinished - available, &pass)
    }

    /// A task's health as its agent last reported it (`none` without a health check, or when
    /// the task is not reported: a missing task is found per agent, by `checkAgents`).
    enum ReportedHealth {
        case none, starting, healthy, unhealthy

        init(_ text: String?) {
            switch text {
            case "starting": self = .starting
            case "healthy": self = .healthy
            case "unhealthy": self = .unhealthy
            default: self = .none
            }
        }
    }

    /// The silence and timeout rules for one placed task; returns its health when its agent is
    /// connected.
    private func checkTask(_ task: JobTask, on agentId: String, _ pass: inout Pass) -> ReportedHealth? {
        let slot = pass.slots[agentId]
        let silence = slot.map { pass.silences[$0] } ?? pass.now - pass.startedAtMs
        if silence > lostMs {
            pass.act(finish(task, .lost, kind: .lost, agentId, "agent \(agentId) silent for \(Self.text(silence))", pass.now))
            return nil
        }
        if silence > disconnectedMs {
            if task.state.canMove(to: .disconnected) && task.state != .disconnected {
                pass.act(ReconcileAction(kind: .disconnected, agentId: agentId, taskId: task.id,
                                         reason: "agent \(agentId) silent for \(Self.text(silence))",
                                         update: TaskUpdate(taskId: task.id, state: .disconnected, atMs: pass.now)))
            }
            return nil
        }
        guard let slot else { return nil }
        pass.placed[slot].add(task.id)
        switch task.state {
        case .launched, .startInitiated, .killInitiated: checkTimeout(task, agentId, &pass)
        default: break
        }
        guard let reports = pass.notedReports[slot] else { return ReportedHealth.none }
        return ReportedHealth(reports[task.id]?.health)
    }

    /// Launched, StartInitiated and KillInitiated each have a timeout.
    private func checkTimeout(_ task: JobTask, _ agentId: String, _ pass: inout Pass) {
        let age = pass.now - JobStore.enteredStateMs(task)
        switch task.state {
        case .launched where age > launchedMs: pass.act(stuck(task, .stuckLaunched, agentId, age, pass.now))
        case .startInitiated where age > startInitiatedMs: pass.act(stuck(task, .stuckStartInitiated, agentId, age, pass.now))
        case .killInitiated where age > killInitiatedMs:
            pass.act(finish(task, .stuckInState, kind: .stuckKillInitiated, agentId,
                            "stuck in KillInitiated for \(Self.text(age)); agent \(agentId) never confirmed the kill", pass.now))
        default: break
        }
    }

    /// A connected agent leaves a task out of its reports: lost once that lasts `missingGrace`.
    func missing(_ task: JobTask, _ agentId: String, _ pass: inout Pass) {
        let since = missingSince[task.id] ?? pass.now
        pass.missing[task.id] = since
        guard pass.now - since >= graceMs else { return }
        pass.act(finish(task, .lost, kind: .missing, agentId,
                        "agent \(agentId) has not reported it for \(Self.text(pass.now - since))", pass.now))
    }

    private func stuck(_ task: JobTask, _ kind: ReconcileKind, _ agentId: String, _ age: Int64, _ now: Int64) -> ReconcileAction {
        ReconcileAction(kind: kind, agentId: agentId, taskId: task.id,
                        reason: "stuck in \(task.state.rawValue) for \(Self.text(age))",
                        update: TaskUpdate(taskId: task.id, state: .killInitiated, reason: .stuckInState,
                                           message: "stuck in \(task.state.rawValue) for \(Self.text(age))", atMs: now))
    }

    private func finish(_ task: JobTask, _ reason: FinishReason, kind: ReconcileKind, _ agentId: String, _ why: String,
                        _ now: Int64) -> ReconcileAction {
        ReconcileAction(kind: kind, agentId: agentId, taskId: task.id, reason: why,
                        update: TaskUpdate(taskId: task.id, state: .finished, reason: reason, message: why, atMs: now))
    }

    /// `1500` → "1.5s", `300000` → "300s".
    static func text(_ ms: Int64) -> String {
        ms % 1_000 == 0 ? "\(ms / 1_000)s" : "\(ms / 1_000).\(String(ms % 1_000 + 1_000).dropFirst())s"
    }
}
