import Testing
@testable import JobStore
import Model
import Scheduler
import Shared

/// Plans are made from a snapshot and re-checked when committed: the launch carries the agent's
/// total, and the store refuses a placement the agent's unfinished tasks leave no room for.
@Suite struct PlanCommitTests {
    var store = JobStore()
    var index: UInt64 = 0

    mutating func apply(_ command: Command) -> CommandResult {
        index += 1
        return store.apply(command, index: index)
    }

    static let agent = AgentView(id: "h1", attributes: ["zone": "a"], total: Resources(cpu: 2, memoryMB: 1_024))

    mutating func submit(_ id: String, size: Int, group: String = "default") {
        let spec = JobSpec(name: id, owner: "o", type: .batch, capacityGroup: group,
                           container: ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 512)),
                           batch: BatchSpec(size: size))
        _ = apply(.createJob(jobId: id, spec: spec, idempotencyKey: nil, atMs: 1))
    }

    /// The snapshot a leader would take: the agent with what the store says it uses.
    func snapshot(_ taskIds: [String]) -> SchedulingInput {
        var agent = Self.agent
        agent.used = store.agentLoads["h1"]?.used ?? .zero
        let pending = taskIds.map { PendingTask(id: $0, jobId: String($0.split(separator: "-")[0]), resources: Resources(cpu: 1, memoryMB: 512)) }
        return SchedulingInput(agents: [agent], pending: pending)
    }

    mutating func commit(_ plan: PlacementPlan) -> [CommandResult] {
        plan.placements.map {
            apply(.updateTask(TaskUpdate(taskId: $0.taskId, state: .launched, agentId: $0.agentId, agentTotal: Self.agent.total, atMs: 2)))
        }
    }

    @Test mutating func twoPlansFromOneSnapshotCannotBothFillAnAgent() {
        submit("j", size: 4)
        var random = SeededRandom(seed: 1)
        let first = ClusterScheduler.plan(snapshot(["j-0", "j-1"]), configuration: SchedulerConfiguration(), random: &random)
        let second = ClusterScheduler.plan(snapshot(["j-2", "j-3"]), configuration: SchedulerConfiguration(), random: &random)
        #expect(first.placements.count == 2 && second.placements.count == 2, "each plan alone fits the empty agent")
        #expect(commit(first).allSatisfy { if case .task(let t) = $0 { t.state == .launched } else { false } })
        let refused = commit(second)
        for result in refused {
            guard case .rejected(.conflict(let field, let message)) = result else {
                Issue.record("over-commit accepted: \(result)"); continue
            }
            #expect(field == "agentId" && message.contains("insufficient cpu"))
        }
        #expect(store.agentLoads["h1"]?.used == Resources(cpu: 2, memoryMB: 1_024))
        #expect(store.task("j-2")?.state == .accepted && store.task("j-2")?.agentId == nil)
    }

    @Test mutating func loadsFollowTasksAndSurviveASnapshot() throws {
        submit("j", size: 2, group: "prod")
        var random = SeededRandom(seed: 42)
        _ = commit(ClusterScheduler.plan(snapshot(["j-0", "j-1"]), configuration: SchedulerConfiguration(), random: &random))
        #expect(store.agentLoads["h1"]?.taskCount == 2 && store.groupUsage["prod"] == Resources(cpu: 2, memoryMB: 1_024))
        _ = apply(.updateTask(TaskUpdate(taskId: "j-0", state: .finished, reason: .normal, atMs: 3)))
        #expect(store.agentLoads["h1"]?.used == Resources(cpu: 1, memoryMB: 512) && store.groupUsage["prod"] == Resources(cpu: 1, memoryMB: 512))
        let restored = try JobStore.restore(store.snapshot())
        #expect(restored.agentLoads == store.agentLoads && restored.groupUsage == store.groupUsage)
        _ = apply(.updateTask(TaskUpdate(taskId: "j-1", state: .finished, reason: .normal, atMs: 4)))
        #expect(store.agentLoads["h1"] == nil)
    }

    @Test func launchCarriesTheAgentTotalThroughTheLog() throws {
        let update = TaskUpdate(taskId: "j-0", state: .launched, agentId: "h1",
                                agentTotal: Resources(cpu: 2.5, memoryMB: 1_024, diskMB: 10, networkMbps: 100), atMs: 2)
        #expect(try Command(encoded: Command.updateTask(update).encoded()) == .updateTask(update))
        let plain = TaskUpdate(taskId: "j-0", state: .started, atMs: 2)
        #expect(try Command(encoded: Command.updateTask(plain).encoded()) == .updateTask(plain))
    }
}
