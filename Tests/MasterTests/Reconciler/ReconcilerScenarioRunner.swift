import JobStore
@testable import Master
import Model
import Reconciler
import Shared

/// Runs a reconciler scenario script and returns its transcript: each command echoed as
/// `> command`, followed by what it printed. Time starts at 1,000,000 ms and moves only with
/// `advance`. Commands:
///
///     config disconnected=30s lost=5m missing=30s launched=5m startInitiated=10m killInitiated=10m
///     service JOB desired=N [budget=N | budget=N%] [interval=10s] [retries=N]
///     batch JOB size=N [retries=N]
///     agent ID                    the agent registers (heard now, no heartbeat yet)
///     place TASK AGENT            the scheduler launches TASK on AGENT
///     report AGENT [TASK=STATE[@container][:health] ...] [unknown=C1,C2]
///                                 a heartbeat: the agent's complete reports; the store moves as
///                                 the master's report processor would move it
///     kill TASK                   a user kills a task
///     advance DURATION            reconcile (one pass: actions, kill changes, then the store
///     leader                      applies the changes)        leader: a new reconciler starts
///     tasks [JOB]                 every task: id, state/reason, agent, attempt
struct ReconcilerScenarioRunner {
    var store = JobStore()
    var index: UInt64 = 0
    var now: Int64 = 1_000_000
    var configuration = ReconcilerConfiguration()
    var reconciler = Reconciler()
    var agents: [String: AgentObservation] = [:]
    var output: [String] = []

    mutating func run(_ script: String) -> String {
        for raw in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(separator: " ").map(String.init)
            guard !words.isEmpty else { continue }
            output.append("> " + words.joined(separator: " "))
            execute(words)
        }
        return output.joined(separator: "\n") + "\n"
    }

    private mutating func execute(_ w: [String]) {
        let options = Self.options(w.dropFirst())
        switch w[0] {
        case "config": configure(options)
        case "service", "batch": createJob(w[1], service: w[0] == "service", options)
        case "agent": agents[w[1]] = AgentObservation(lastHeardMs: now)
        case "place": apply(TaskUpdate(taskId: w[1], state: .launched, agentId: w[2], atMs: now))
        case "report": report(w[1], Array(w.dropFirst(2)))
        case "kill": apply(.killTask(taskId: w[1], shrink: false, atMs: now))
        case "advance": now += Self.milliseconds(w[1])
        case "reconcile": reconcile()
        case "leader": reconciler = Reconciler(configuration: configuration)
        case "tasks": printTasks(w.count > 1 ? w[1] : nil)
        default: output.append("unknown command \(w[0])")
        }
    }

    static func options(_ words: ArraySlice<String>) -> [String: String] {
        var options: [String: String] = [:]
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { options[String(parts[0])] = String(parts[1]) }
        }
        return options
    }

    static func milliseconds(_ text: String) -> Int64 { DurationText.parse(text)!.wholeMilliseconds }

    private mutating func configure(_ o: [String: String]) {
        let d = { (key: String) in o[key].map { Duration.milliseconds(Self.milliseconds($0)) } }
        configuration.agentDisconnectedAfter = d("disconnected") ?? configuration.agentDisconnectedAfter
        configuration.agentLostAfter = d("lost") ?? configuration.agentLostAfter
        configuration.missingGrace = d("missing") ?? configuration.missingGrace
        configuration.launchedTimeout = d("launched") ?? configuration.launchedTimeout
        configuration.startInitiatedTimeout = d("startInitiated") ?? configuration.startInitiatedTimeout
        configuration.killInitiatedTimeout = d("killInitiated") ?? configuration.killInitiatedTimeout
        reconciler = Reconciler(configuration: configuration)
    }

    private mutating func createJob(_ id: String, service: Bool, _ o: [String: String]) {
        let retries = RetryPolicy.immediate(retries: Int(o["retries"] ?? "10")!)
        let check = o["interval"].map { HealthCheck(probe: .exec(["true"]), intervalSeconds: Int(Self.milliseconds($0) / 1_000)) }
        var spec = JobSpec(name: id, owner: "o", type: service ? .service : .batch,
                           container: ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64), healthCheck: check))
        if service {
            let n = Int(o["desired"] ?? "1")!
            spec.service = ServiceSpec(capacity: Capacity(min: 0, desired: n, max: max(n, 10)), retryPolicy: retries)
        } else {
            spec.batch = BatchSpec(size: Int(o["size"] ?? "1")!, retryPolicy: retries)
        }
        if let b = o["budget"] {
            spec.disruptionBudget = b.hasSuffix("%") ? .maxUnavailablePercent(Int(b.dropLast())!) : .maxUnavailable(Int(b)!)
        }
        apply(.createJob(jobId: id, spec: spec, idempotencyKey: nil, atMs: now))
    }

    /// `TASK=STATE[@container][:health]` words, and `unknown=C1,C2`.
    private mutating func report(_ agentId: String, _ words: [String]) {
        var reports: [String: TaskReport] = [:]
        var unknown: [String] = []
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            if parts[0] == "unknown" { unknown = parts[1].split(separator: ",").map(String.init); continue }
            let health = parts[1].split(separator: ":").dropFirst().first.map(String.init)
            let stateAndContainer = parts[1].split(separator: ":")[0].split(separator: "@").map(String.init)
            let state = TaskState.allCases.first { $0.rawValue == stateAndContainer[0] }!
            reports[parts[0]] = TaskReport(taskId: parts[0], state: state, containerId: stateAndContainer.dropFirst().first,
                                           reason: state == .finished ? .killed : nil, health: health)
        }
        agents[agentId] = AgentObservation(lastHeardMs: now, reports: reports, unknownContainers: unknown)
        for report in reports.values.sorted(by: { $0.taskId < $1.taskId }) {
            if let update = ReportProcessor.update(for: report, agentId: agentId, store: store, nowMs: now) { apply(update) }
        }
    }

    private mutating func reconcile() {
        let result = reconciler.pass(ReconcileInput(store: store, agents: agents, nowMs: now))
        for action in result.actions {
            var line = "\(action.kind.rawValue) \(action.taskId ?? action.containerId ?? "-")"
            if let agent = action.agentId { line += " on \(agent)" }
            line += ": \(action.reason)"
            if let u = action.update { line += " → \(u.state.rawValue)\(u.reason.map { "/\($0.rawValue)" } ?? "")" }
            output.append(line)
        }
        for agent in result.killsChanged.sorted() {
            output.append("kills \(agent): [\((result.kills[agent] ?? []).sorted().joined(separator: " "))]")
        }
        for update in result.updates { apply(update) }
    }

    private mutating func apply(_ update: TaskUpdate) { apply(.updateTask(update)) }

    private mutating func apply(_ command: Command) {
        index += 1
        if case .rejected(let error) = store.apply(command, index: index) { output.append("rejected: \(error)") }
    }

    private mutating func printTasks(_ jobId: String?) {
        let jobs = store.listJobs(filter: JobStore.JobFilter(), limit: 1_000).items.filter { $0.state != .finished }.map(\.id)
        for id in jobId.map({ [$0] }) ?? jobs.sorted() {
            for task in store.tasks(ofJob: id) {
                let state = task.state.rawValue + (task.isFinished ? "/\(task.reason?.rawValue ?? "")" : "")
                output.append("\(task.id) \(state) agent=\(task.agentId ?? "-") attempt=\(task.attempt)")
            }
        }
    }
}
