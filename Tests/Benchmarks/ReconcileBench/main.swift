import Foundation
import JobStore
import Model
import Reconciler

// reconcile-bench: one reconciler pass over a large cluster, timed (Tests/Benchmarks/reconcile.sh).
//
//   reconcile-bench [--agents 10000] [--tasks 100000] [--passes 20] [--silent-percent 0]
//
// Builds a store of service jobs (10 tasks each) whose tasks all run, spread evenly over the
// agents, and an observation per agent reporting exactly its tasks. Then times passes: the
// steady state (nothing to do) and, with --silent-percent, a share of agents silent past the
// lost timeout (every task on them lost in that pass).

let arguments = CommandLine.arguments
func flag(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: "--\(name)"), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let agentCount = max(1, flag("agents", 10_000))
let taskCount = max(10, flag("tasks", 100_000))
let passes = max(1, flag("passes", 20))
let silentPercent = min(100, max(0, flag("silent-percent", 0)))
let tasksPerJob = 10
let now: Int64 = 10_000_000

func millis(_ d: Duration) -> Double { Double(d.components.seconds) * 1_000 + Double(d.components.attoseconds) / 1e15 }

/// This thread's CPU time in ms: on a shared machine, wall time also counts the time the
/// benchmark waited for a core.
func cpuMillis() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1_000 + Double(t.tv_nsec) / 1e6
}

/// Builds the cluster and times the passes.
func run() {
    let clock = ContinuousClock()
    let buildStart = clock.now
    var store = JobStore()
    var index: UInt64 = 0
    func apply(_ command: Command, to store: inout JobStore, index: inout UInt64) {
        index += 1
        if case .rejected(let error) = store.apply(command, index: index) { fatalError("\(error)") }
    }
    var reports: [[String: TaskReport]] = Array(repeating: [:], count: agentCount)
    let spec = JobSpec(name: "bench", owner: "bench", type: .service,
                       container: ContainerSpec(image: "img", resources: Resources(cpu: 0.1, memoryMB: 16)),
                       service: ServiceSpec(capacity: Capacity(min: 0, desired: tasksPerJob, max: tasksPerJob)))
    var placed = 0
    for j in 0..<(taskCount / tasksPerJob) {
        let jobId = "job\(j)"
        apply(.createJob(jobId: jobId, spec: spec, idempotencyKey: nil, atMs: now - 60_000), to: &store, index: &index)
        for t in 0..<tasksPerJob {
            let taskId = "\(jobId)-\(t)", agent = placed % agentCount, containerId = "c\(placed)"
            placed += 1
            apply(.updateTask(TaskUpdate(taskId: taskId, state: .launched, agentId: "agent\(agent)", atMs: now - 50_000)), to: &store, index: &index)
            apply(.updateTask(TaskUpdate(taskId: taskId, state: .started, containerId: containerId, atMs: now - 40_000)), to: &store, index: &index)
            reports[agent][taskId] = TaskReport(taskId: taskId, state: .started, containerId: containerId, health: "healthy")
        }
    }
    let silentAgents = agentCount * silentPercent / 100
    var agents: [String: AgentObservation] = [:]
    for a in 0..<agentCount {
        let heard = a < silentAgents ? now - 400_000 : now - 1_000
        agents["agent\(a)"] = AgentObservation(lastHeardMs: heard, reports: reports[a])
    }
    print("built \(agentCount) agents, \(placed) tasks in \(Int(millis(clock.now - buildStart))) ms")

    var reconciler = Reconciler()
    _ = reconciler.pass(ReconcileInput(store: store, agents: agents, nowMs: now - 500_000))  // starts the clock: no silence yet
    var samples: [Double] = []
    var cpu: [Double] = []
    var actions = 0
    for _ in 0..<passes {
        let input = ReconcileInput(store: store, agents: agents, nowMs: now)
        let start = clock.now, cpuStart = cpuMillis()
        let output = reconciler.pass(input)
        samples.append(millis(clock.now - start))
        cpu.append(cpuMillis() - cpuStart)
        actions = output.actions.count
    }
    samples.sort()
    cpu.sort()
    print(String(format: "reconcile pass: %d agents, %d tasks, %d%% silent, %d passes (%d actions each): "
                     + "wall p50 %.1f ms, max %.1f ms; CPU min %.1f ms, p50 %.1f ms",
                 agentCount, placed, silentPercent, passes, actions, samples[samples.count / 2], samples.last!, cpu[0], cpu[cpu.count / 2]))
}

run()
