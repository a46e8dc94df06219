import Model
import Shared

/// The agent's pure core: the tasks the master wants here against the containers Docker has.
///
/// No I/O, no clock reads, no `async`: every input carries `now`, every input returns the
/// `Action`s the shell (`Executor`) must perform, and each action's outcome comes back through
/// `actionFinished`. The containers and their labels are the source of truth; the supervisor's
/// own state is a cache of them plus what the master said last, so an agent that restarts loses
/// nothing that matters (see "Restart" below).
///
/// One task's life (one container per task, named `fuller-<taskId>`):
/// ```
///  assigned ──create──► created ──start──► running ──exit──► exited ──(failed: logs)──► Finished
///     │  image missing: pull once, create again; pull fails ─────────────────────────► Finished/invalidRequest
///     │  create/start error ─────────────────────────────────────────────────────────► Finished/failed…
///  kill or runtime limit: running ──stop(SIGTERM, grace)──► exited ──► Finished/killed|runtimeLimitExceeded
///  container removed behind the agent's back (`docker rm -f`) ───────────────────────► Finished/crashed
///  Finished is reported on every heartbeat until an answer to a heartbeat that carried it no
///  longer lists the task (the master took it): then, and only then, the container is removed.
/// ```
///
/// Ordering contracts:
/// - Nothing is created before the first complete list (`listed`), so a restarted agent adopts its
///   containers instead of duplicating them; a create that conflicts on the name asks for a list.
/// - Nothing is treated as an orphan before the first heartbeat answer (`assignments`).
/// - The shell calls `willSend(sequence:)` with the reports it puts in a heartbeat *before*
///   sending it, and passes that heartbeat's sequence to `assignments`; a container is removed only
///   after an answer to a heartbeat that carried its Finished report.
/// - Answers to older heartbeats than one already applied are ignored (long poll and immediate
///   heartbeats overlap).
struct Supervisor: Sendable {
    let configuration: Configuration
    private(set) var tasks: [String: TaskRecord] = [:]
    private(set) var containers: [String: ContainerView] = [:]
    /// A first complete list of containers arrived: creating is safe.
    private(set) var listed = false
    /// A first heartbeat answer arrived: orphans can be told apart.
    private(set) var answered = false
    private(set) var lastAnsweredSequence: UInt64?
    private(set) var assignmentsVersion: UInt64 = 0
    private(set) var drain = false
    /// Counts observations so a list can tell containers it could not have seen (`beginList`).
    private var observationCounter: UInt64 = 0
    /// Bumped whenever `reports` or `unknownContainers` change, so the shell knows to send them.
    private(set) var reportsVersion: UInt64 = 0
    private var lastReports: [TaskReport] = []
    private var lastUnknown: [String] = []

    static let managedLabel = "fuller.managed"
    static let taskLabel = "fuller.task"
    static let jobLabel = "fuller.job"
    static let agentLabel = "fuller.agent"

    /// The labels that select this agent's containers (list and events filter on them).
    var ownLabels: [String: String] { [Self.managedLabel: "true", Self.agentLabel: configuration.agentId] }

    init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Inputs

    /// A heartbeat answer: the complete desired set. `requestSequence` is the sequence of the
    /// heartbeat it answers.
    mutating func assignments(_ response: HeartbeatResponse, requestSequence: UInt64, now: Timestamp) -> [Action] {
        if let last = lastAnsweredSequence, requestSequence < last { return [] }
        lastAnsweredSequence = requestSequence
        answered = true
        assignmentsVersion = response.assignmentsVersion
        drain = response.drain
        let kills = Set(response.kills)
        // A kill for a task this agent does not track: the master placed it and killed it before
        // an answer carried its assignment, or this agent restarted since. The master waits in
        // KillInitiated for a report, so track it: an adopted container is stopped, and with none
        // the task is reported killed.
        for id in response.kills.sorted() where tasks[id] == nil && tasks.count < configuration.tasksMax {
            tasks[id] = TaskRecord(assignment: Self.killOnlyAssignment(id))
        }
        var wanted = Set<String>()
        for assignment in response.assignments {
            wanted.insert(assignment.taskId)
            if tasks[assignment.taskId] == nil {
                guard tasks.count < configuration.tasksMax else { continue }
                tasks[assignment.taskId] = TaskRecord(assignment: assignment)
            }
        }
        for id in tasks.keys.sorted() {
            let owned = wanted.contains(id) || kills.contains(id)
            tasks[id]!.owned = owned
            if kills.contains(id) { tasks[id]!.killRequested = true }
            if !owned { release(id, answering: requestSequence) }
        }
        return reconcile(now: now)
    }

    /// A task that left the master's answer. Finished and acknowledged: its container goes. Otherwise
    /// the task is not ours (or no longer): forget it, and its container falls under the orphan rule.
    private mutating func release(_ id: String, answering sequence: UInt64) {
        guard let record = tasks[id] else { return }
        if record.final != nil, let sent = record.finalSentInSequence, sequence >= sent {
            if record.containerId.flatMap({ containers[$0] }) == nil, record.pending == nil { tasks[id] = nil }
            return  // reconcile removes the container, then the record
        }
        if record.pending == nil || record.final != nil { tasks[id] = nil }
    }

    /// The stand-in assignment of a task known only from a kill. It never makes a container:
    /// the kill is recorded before the task is first reconciled.
    static func killOnlyAssignment(_ taskId: String) -> TaskAssignment {
        TaskAssignment(taskId: taskId, jobId: "", index: 0, attempt: 0,
                       container: ContainerSpec(image: "", resources: Resources(cpu: 0, memoryMB: 0)), runtimeLimitSeconds: nil)
    }

    /// A token to pass back with the list answer: containers learned after it are kept even if
    /// the list (which may have been taken before they existed) does not show them.
    mutating func beginList() -> UInt64 {
        observationCounter += 1
        return observationCounter
    }

    /// A complete list of `fuller.managed` containers, taken after `beginList()` returned `token`.
    mutating func listed(_ summaries: [ContainerSummary], token: UInt64, now: Timestamp) -> [Action] {
        var seen = Set<String>()
        for summary in summaries.prefix(configuration.containersMax) {
            seen.insert(summary.id)
            if var view = containers[summary.id] {
                if view.status != summary.state { view.stale = true }
                view.status = summary.state
                containers[summary.id] = view
            } else {
                observationCounter += 1
                containers[summary.id] = ContainerView(id: summary.id, taskId: summary.labels[Self.taskLabel],
                                                       status: summary.state, learnedAt: observationCounter)
            }
        }
        for (id, view) in containers where !seen.contains(id) && view.learnedAt <= token && view.pending != .remove {
            forget(containerId: id)
        }
        listed = true
        return reconcile(now: now)
    }

    /// Docker says something happened to container `id` (an event): look again.
    mutating func containerChanged(_ id: String, now: Timestamp) -> [Action] {
        if containers[id] == nil {
            guard containers.count < configuration.containersMax else { return [] }
            observationCounter += 1
            containers[id] = ContainerView(id: id, taskId: nil, status: "unknown", learnedAt: observationCounter)
        }
        containers[id]!.stale = true
        return reconcile(now: now)
    }

    /// Docker says container `id` is gone (a `destroy` event, or a 404).
    mutating func containerGone(_ id: String, now: Timestamp) -> [Action] {
        forget(containerId: id)
        return reconcile(now: now)
    }

    /// Time passed: runtime limits, orphan grace, retries, drift.
    mutating func tick(now: Timestamp) -> [Action] {
        reconcile(now: now)
    }

    /// The shell is about to send a heartbeat with `sequence` carrying the current reports.
    mutating func willSend(sequence: UInt64) {
        for id in tasks.keys where tasks[id]!.final != nil && tasks[id]!.finalSentInSequence == nil {
            tasks[id]!.finalSentInSequence = sequence
        }
    }

    // MARK: Outputs

    /// The current state of every task that has one, sorted by task id: sent on every heartbeat.
    var reports: [TaskReport] { lastReports }

    /// Labelled containers with no task of ours, sorted.
    var unknownContainers: [String] { lastUnknown }

    /// Recomputes the reports and bumps `reportsVersion` when they changed.
    mutating func refreshReports() {
        var reports: [TaskReport] = []
        for id in tasks.keys.sorted() {
            if let report = currentReport(id) { reports.append(report) }
        }
        let unknown = containers.values.filter { $0.orphanSince != nil }.map(\.id).sorted()
        if reports != lastReports || unknown != lastUnknown {
            lastReports = reports
            lastUnknown = unknown
            reportsVersion += 1
        }
    }

    private func currentReport(_ id: String) -> TaskReport? {
        guard let record = tasks[id] else { return nil }
        if let final = record.final { return final }
        guard let cid = record.containerId, let view = containers[cid] else { return nil }
        var phase = view.details.map(Self.phase) ?? .created
        if phase == .created && view.startAccepted { phase = .running }
        switch phase {
        case .created: return TaskReport(taskId: id, state: .startInitiated, containerId: cid)
        case .running:
            return TaskReport(taskId: id, state: .started, containerId: cid, ip: view.details?.ipAddress,
                              health: Self.reportedHealth(view))
        case .exited, .removing: return TaskReport(taskId: id, state: .started, containerId: cid, ip: view.details?.ipAddress)
        }
    }

    /// Drops container `id` from the picture, and from its task. A task that owned it and had not
    /// finished ends there (`crashed`, or `killed` when a kill was asked): its container was removed
    /// behind the agent's back (`docker rm -f`), and running a second one under the same attempt
    /// would hide that from the master, whose retry policy decides whether a new attempt runs.
    mutating func forget(containerId id: String) {
        guard let view = containers.removeValue(forKey: id) else { return }
        guard let taskId = view.taskId, let record = tasks[taskId], record.containerId == id else { return }
        if record.owned && record.final == nil {
            finish(taskId, reason: record.killRequested ? .killed : .crashed, exitCode: nil,
                   message: "its container \(id) was removed outside Fuller")
        }
        tasks[taskId]!.containerId = nil
        if !tasks[taskId]!.owned && tasks[taskId]!.pending == nil { tasks[taskId] = nil }
    }

    // MARK: Helpers for the extensions

    mutating func updateTask(_ id: String, _ change: (inout TaskRecord) -> Void) {
        guard tasks[id] != nil else { return }
        change(&tasks[id]!)
    }

    mutating func updateContainer(_ id: String, _ change: (inout ContainerView) -> Void) {
        guard containers[id] != nil else { return }
        change(&containers[id]!)
    }

    mutating func removeTask(_ id: String) { tasks[id] = nil }

    mutating func insertContainer(_ view: ContainerView) {
        observationCounter += 1
        var view = view
        view.learnedAt = observationCounter
        containers[view.id] = view
    }
}
