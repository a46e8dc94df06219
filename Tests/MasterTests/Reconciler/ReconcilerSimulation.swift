import JobStore
@testable import Master
import Model
import Reconciler
import Shared

/// A seeded world for the reconciler: a store, agents that run containers and heartbeat, and
/// faults: agents crash (containers keep running, the process forgets), are cut off (silent,
/// still running), come back, and heartbeats or their answers are lost. Agents here never
/// clean up orphans on their own, so every stale container must be killed by the master.
struct ReconcilerSimulation {
    struct Agent {
        let id: String
        var up = true
        var cutOff = false
        /// Running containers on the host by container id → task id; they outlive the process.
        var containers: [String: String] = [:]
        /// Tasks the agent process knows from answers (assignments and kills).
        var tracked: Set<String> = []
        /// Finished reports waiting for an answer that no longer lists the task.
        var finals: [String: TaskReport] = [:]
        /// An answer arrived since the process started: orphans can be told apart.
        var answered = false
        var lastHeardMs: Int64 = 0
        var observation: AgentObservation?
    }

    var random: SeededRandom
    var store = JobStore()
    var index: UInt64 = 0
    var now: Int64 = 1_000_000
    var reconciler: Reconciler
    var agents: [Agent]
    var services: [String: Int] = [:]
    var nextContainer = 0
    let configuration: ReconcilerConfiguration

    static func configuration() -> ReconcilerConfiguration {
        var c = ReconcilerConfiguration()
        c.agentDisconnectedAfter = .seconds(10)
        c.agentLostAfter = .seconds(30)
        c.missingGrace = .seconds(5)
        c.launchedTimeout = .seconds(20)
        c.startInitiatedTimeout = .seconds(20)
        c.killInitiatedTimeout = .seconds(20)
        return c
    }

    init(seed: UInt64, agentCount: Int = 5, serviceCount: Int = 3) {
        random = SeededRandom(seed: seed)
        configuration = Self.configuration()
        reconciler = Reconciler(configuration: configuration)
        agents = (0..<agentCount).map { Agent(id: "a\($0)") }
        for i in 0..<agentCount { agents[i].lastHeardMs = now }
        for j in 0..<serviceCount {
            let desired = Int.random(in: 1...4, using: &random)
            let spec = JobSpec(name: "s\(j)", owner: "o", type: .service,
                               container: ContainerSpec(image: "img", resources: Resources(cpu: 0.1, memoryMB: 16)),
                               service: ServiceSpec(capacity: Capacity(min: 0, desired: desired, max: 10),
                                                    retryPolicy: .immediate(retries: 1_000_000)))
            apply(.createJob(jobId: "s\(j)", spec: spec, idempotencyKey: nil, atMs: now))
            services["s\(j)"] = desired
        }
    }

    mutating func apply(_ command: Command) {
        index += 1
        _ = store.apply(command, index: index)
    }

    // MARK: Steps

    /// One second of the world. With `faults`, agents crash, are cut off, return, and
    /// heartbeats are lost; without, everything is delivered.
    mutating func step(faults: Bool) {
        now += 1_000
        if faults { injectFault() }
        for i in agents.indices where agents[i].up && !agents[i].cutOff {
            let lostRequest = faults && Int.random(in: 0..<10, using: &random) == 0
            let lostAnswer = faults && Int.random(in: 0..<10, using: &random) == 0
            if !lostRequest { heartbeat(i, deliverAnswer: !lostAnswer) }
        }
        reconcile()
        place()
    }

    private mutating func injectFault() {
        guard Int.random(in: 0..<4, using: &random) == 0 else { return }
        let i = Int.random(in: 0..<agents.count, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0:  // the process dies; its containers keep running
            agents[i].up = false
            agents[i].tracked = []
            agents[i].finals = [:]
            agents[i].answered = false
        case 1: agents[i].cutOff = true
        default: bringBack(i)
        }
    }

    mutating func bringBack(_ i: Int) {
        if !agents[i].up {
            agents[i].up = true
            agents[i].observation = nil  // a new process registers again
            agents[i].lastHeardMs = now
        }
        agents[i].cutOff = false
    }

    /// The agent reports, the master applies the reports and answers, the agent acts on it.
    private mutating func heartbeat(_ i: Int, deliverAnswer: Bool) {
        let agent = agents[i]
        var reports: [String: TaskReport] = agent.finals
        for (containerId, taskId) in agent.containers where agent.tracked.contains(taskId) && agent.finals[taskId] == nil {
            reports[taskId] = TaskReport(taskId: taskId, state: .started, containerId: containerId, health: "healthy")
        }
        let unknown = agent.answered ? agent.containers.filter { !agent.tracked.contains($0.value) }.map(\.key).sorted() : []
        agents[i].lastHeardMs = now
        agents[i].observation = AgentObservation(lastHeardMs: now, reports: reports, unknownContainers: unknown)
        for report in reports.values.sorted(by: { $0.taskId < $1.taskId }) {
            if let update = ReportProcessor.update(for: report, agentId: agent.id, store: store, nowMs: now) {
                apply(.updateTask(update))
            }
        }
        guard deliverAnswer else { return }
        var answer = AgentResponses.build(agentId: agent.id, version: 1, drain: false, store: store, intervalMilliseconds: 1_000)
        answer.kills += reconciler.kills[agent.id].map { $0.sorted() } ?? []
        act(i, on: answer)
    }

    /// What a real agent does with an answer, minus Docker: adopt or create, stop, forget.
    private mutating func act(_ i: Int, on answer: HeartbeatResponse) {
        agents[i].answered = true
        let wanted = Set(answer.assignments.map(\.taskId)), kills = Set(answer.kills)
        for id in agents[i].tracked.union(agents[i].finals.keys) where !wanted.contains(id) && !kills.contains(id) {
            agents[i].tracked.remove(id)
            agents[i].finals[id] = nil
        }
        for id in wanted.union(kills) { agents[i].tracked.insert(id) }
        for id in kills.sorted() where agents[i].finals[id] == nil {
            agents[i].containers = agents[i].containers.filter { $0.value != id }
            agents[i].finals[id] = TaskReport(taskId: id, state: .finished, reason: .killed)
        }
        for id in wanted.sorted() where !agents[i].containers.values.contains(id) && agents[i].finals[id] == nil {
            nextContainer += 1
            agents[i].containers["c\(nextContainer)"] = id
        }
    }

    private mutating func reconcile() {
        var observations: [String: AgentObservation] = [:]
        for agent in agents {
            // The master hears of the silent agents only what it heard last.
            var observation = agent.observation ?? AgentObservation(lastHeardMs: 0)
            observation.lastHeardMs = agent.lastHeardMs
            observations[agent.id] = observation
        }
        let output = reconciler.pass(ReconcileInput(store: store, agents: observations, nowMs: now))
        for update in output.updates { apply(.updateTask(update)) }
    }

    /// Pending tasks go to a random agent heard from within the disconnected timeout.
    private mutating func place() {
        let fresh = agents.filter { now - $0.lastHeardMs <= 5_000 }.map(\.id)
        guard !fresh.isEmpty else { return }
        for task in store.pendingTasks(nowMs: now, limit: 1_000) {
            let agent = fresh[Int.random(in: 0..<fresh.count, using: &random)]
            apply(.updateTask(TaskUpdate(taskId: task.id, state: .launched, agentId: agent, atMs: now)))
        }
    }

    // MARK: Checks

    /// Broken invariants at any time: a task live on two agents, or a container for a task
    /// on an agent other than the one it ran on.
    func safetyViolations() -> [String] {
        var problems: [String] = []
        var hosts: [String: String] = [:]
        for agent in agents {
            for taskId in Set(agent.containers.values) {
                if let other = hosts.updateValue(agent.id, forKey: taskId) { problems.append("task \(taskId) runs on \(other) and \(agent.id)") }
                if let task = store.task(taskId), task.agentId != agent.id {
                    problems.append("task \(taskId) of \(task.agentId ?? "none") runs on \(agent.id)")
                }
            }
        }
        return problems
    }

    /// What is not yet as desired: every service has `desired` Started tasks, each in exactly one
    /// container on its agent, and no other container runs anywhere.
    /// Containers on agents that are down or cut off are not counted: nothing can reach them.
    func convergenceProblems() -> [String] {
        var problems: [String] = []
        var running: [String: [String]] = [:]
        for agent in agents where agent.up && !agent.cutOff {
            for (container, task) in agent.containers { running[task, default: []].append("\(agent.id)/\(container)") }
        }
        var live = Set<String>()
        for (job, desired) in services.sorted(by: { $0.key < $1.key }) {
            let tasks = store.liveTasks(ofJob: job)
            if tasks.count != desired || !tasks.allSatisfy({ $0.state == .started }) {
                problems.append("\(job): \(tasks.map { "\($0.id) \($0.state.rawValue)" }) for desired \(desired)")
            }
            for task in tasks {
                live.insert(task.id)
                if running[task.id]?.count != 1 { problems.append("\(task.id) runs in \(running[task.id] ?? [])") }
            }
        }
        for (task, where_) in running.sorted(by: { $0.key < $1.key }) where !live.contains(task) {
            problems.append("stale \(task) still runs in \(where_)")
        }
        return problems
    }
}
