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
        var missing: [String: Int64] = [:]
        var unhealthy: [String: Int64] = [:]
        var deferred: Set<String> = []
        /// Per connected agent: how many of its reports name a task the store places there.
        var matched: [String: Int] = [:]

        var now: Int64 { input.nowMs }

        func silenceMs(_ agentId: String) -> Int64 {
            now - max(input.agents[agentId]?.lastHeardMs ?? startedAtMs, startedAtMs)
        }
    }

    /// One pass over every placed task and every agent.
    public mutating func pass(_ input: ReconcileInput) -> ReconcileOutput {
        let started = startedAtMs ?? input.nowMs
        startedAtMs = started
        var pass = Pass(input: input, startedAtMs: started)
        input.store.forEachActiveJob { job, tasks in checkJob(job, tasks, &pass) }
        var output = ReconcileOutput()
        output.kills = agentKills(&pass)
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
            let report = checkTask(task, on: agentId, &pass)
            guard pass.actions.count == before, task.state == .started, let report else { continue }
            // A replacement is still being replaced until its health check has passed once.
            if report.health != "starting" { available += 1 }
            if let since = unhealthySince(task, job, report, &pass) { candidates.append((since, task)) }
        }
        guard !candidates.isEmpty else { return }
        replaceUnhealthy(job, candidates, disrupted: unfinished - available, &pass)
    }

    /// The rules for one placed task; returns its agent's report when the agent is connected.
    private func checkTask(_ task: JobTask, on agentId: String, _ pass: inout Pass) -> TaskReport? {
        let silence = pass.silenceMs(agentId)
        if silence > lostMs {
            pass.actions.append(finish(task, .lost, kind: .lost, agentId, "agent \(agentId) silent for \(Self.text(silence))", pass.now))
            return nil
        }
        if silence > disconnectedMs {
            if task.state.canMove(to: .disconnected) && task.state != .disconnected {
                pass.actions.append(ReconcileAction(kind: .disconnected, agentId: agentId, taskId: task.id,
                                                    reason: "agent \(agentId) silent for \(Self.text(silence))",
                                                    update: TaskUpdate(taskId: task.id, state: .disconnected, atMs: pass.now)))
            }
            return nil
        }
        let reports = pass.input.agents[agentId]?.reports
        let report = reports?[task.id]
        if report != nil { pass.matched[agentId, default: 0] += 1 }
        let age = pass.now - JobStore.enteredStateMs(task)
        switch task.state {
        case .launched where age > launchedMs:
            pass.actions.append(stuck(task, .stuckLaunched, agentId, age, pass.now))
        case .startInitiated, .started, .disconnected:
            if reports != nil && report == nil {
                missing(task, agentId, &pass)
            } else if task.state == .startInitiated && age > startInitiatedMs {
                pass.actions.append(stuck(task, .stuckStartInitiated, agentId, age, pass.now))
            }
        case .killInitiated where age > killInitiatedMs:
            pass.actions.append(finish(task, .stuckInState, kind: .stuckKillInitiated, agentId,
                                       "stuck in KillInitiated for \(Self.text(age)); agent \(agentId) never confirmed the kill", pass.now))
        default: break
        }
        return report
    }

    /// A connected agent leaves a task out of its reports: lost once that lasts `missingGrace`.
    private func missing(_ task: JobTask, _ agentId: String, _ pass: inout Pass) {
        let since = missingSince[task.id] ?? pass.now
        pass.missing[task.id] = since
        guard pass.now - since >= graceMs else { return }
        pass.actions.append(finish(task, .lost, kind: .missing, agentId,
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
