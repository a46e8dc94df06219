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

    /// What one pass collects before it decides.
    struct Pass {
        let input: ReconcileInput
        let startedAtMs: Int64
        var actions: [ReconcileAction] = []
        /// Tasks that already have a store change in this pass.
        var acted: Set<String> = []
        var missing: [String: Int64] = [:]
        var unhealthy: [String: Int64] = [:]
        var deferred: Set<String> = []
        /// Kills by agent and task, with the action that explains each.
        var notes: [String: [String: ReconcileAction]] = [:]
        var containers: [(agentId: String, containerId: String)] = []
        /// Kills the agents confirmed in this pass (a finished report of a killed task).
        var confirmedNow: [String: Set<String>] = [:]
        /// Jobs with a task reported unhealthy: their budgets are worked out after the agents.
        var unhealthyJobs: Set<String> = []

        var now: Int64 { input.nowMs }
        var store: JobStore { input.store }

        /// An agent this master has not heard from since it started reconciling is silent since then.
        func silenceMs(_ agentId: String) -> Int64 {
            now - max(input.agents[agentId]?.lastHeardMs ?? startedAtMs, startedAtMs)
        }

        mutating func act(_ action: ReconcileAction) {
            if let id = action.update?.taskId { acted.insert(id) }
            actions.append(action)
        }
    }

    /// One pass over every agent the store places tasks on or that this master hears from.
    /// Per agent it reads only the tasks that are not `Started` (their timeouts), and compares
    /// the digest of the tasks placed there with the digest of its reports; only where they
    /// differ does it look at single reports. So a settled cluster costs a hash per task.
    public mutating func pass(_ input: ReconcileInput) -> ReconcileOutput {
        let started = startedAtMs ?? input.nowMs
        startedAtMs = started
        var pass = Pass(input: input, startedAtMs: started)
        for agentId in input.store.tasksByAgent.keys { checkAgent(agentId, &pass) }
        for agentId in input.agents.keys where input.store.tasksByAgent[agentId] == nil { checkAgent(agentId, &pass) }
        for jobId in pass.unhealthyJobs.sorted() { checkHealth(jobId, &pass) }
        var output = ReconcileOutput()
        output.kills = collectKills(&pass)
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

    /// The rules for one agent: its silence, its unsettled tasks' timeouts, then its reports.
    private func checkAgent(_ agentId: String, _ pass: inout Pass) {
        let silence = pass.silenceMs(agentId)
        let placed = pass.store.tasksByAgent[agentId] ?? []
        if silence > disconnectedMs {
            let why = "agent \(agentId) silent for \(Self.text(silence))"
            for id in placed {
                guard let task = pass.store.task(id) else { continue }
                if silence > lostMs {
                    pass.act(finish(task, .lost, kind: .lost, agentId, why, pass.now))
                } else if task.state.canMove(to: .disconnected) && task.state != .disconnected {
                    pass.act(ReconcileAction(kind: .disconnected, agentId: agentId, taskId: id, reason: why,
                                             update: TaskUpdate(taskId: id, state: .disconnected, atMs: pass.now)))
                }
            }
            return
        }
        for id in pass.store.unsettledByAgent[agentId] ?? [] {
            if let task = pass.store.task(id) { checkTimeout(task, agentId, &pass) }
        }
        guard let observation = pass.input.agents[agentId], observation.reports != nil else { return }
        checkReports(agentId, observation, placed: placed, &pass)
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
