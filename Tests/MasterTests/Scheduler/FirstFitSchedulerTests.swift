import Testing
@testable import Model
@testable import Scheduler

@Suite struct FirstFitSchedulerTests {
    static func task(_ id: String, cpu: Double, mem: Int) -> PendingTask {
        PendingTask(id: id, jobId: "j", resources: Resources(cpu: cpu, memoryMB: mem))
    }

    @Test func fillsAgentsInOrderAndNeverOvercommits() {
        let agents = [AgentView(id: "b", total: Resources(cpu: 2, memoryMB: 1_000)),
                      AgentView(id: "a", total: Resources(cpu: 2, memoryMB: 1_000), used: Resources(cpu: 1, memoryMB: 0))]
        let pending = (0..<5).map { Self.task("t\($0)", cpu: 1, mem: 100) }
        let plan = FirstFitScheduler().schedule(SchedulingInput(agents: agents, pending: pending))
        #expect(plan.placements.map(\.agentId) == ["a", "b", "b"])
        #expect(plan.unplaced["t3"] == ["insufficient cpu": 2] && plan.unplaced["t4"] != nil)
    }

    @Test func explainsEveryRejection() {
        let agents = [AgentView(id: "a", total: Resources(cpu: 8, memoryMB: 100)),
                      AgentView(id: "b", total: Resources(cpu: 8, memoryMB: 8_000), schedulable: false)]
        let plan = FirstFitScheduler().schedule(SchedulingInput(agents: agents, pending: [Self.task("t", cpu: 1, mem: 500)]))
        #expect(plan.placements.isEmpty)
        #expect(plan.unplaced["t"] == ["insufficient memory": 1, "agent not schedulable": 1])
        #expect(FirstFitScheduler().schedule(SchedulingInput(agents: [], pending: [Self.task("t", cpu: 1, mem: 1)])).unplaced["t"] == ["no agents": 1])
    }

    @Test func fractionalCpuSumsFitExactly() {
        let agents = [AgentView(id: "a", total: Resources(cpu: 1, memoryMB: 1_000))]
        let pending = (0..<10).map { Self.task("t\($0)", cpu: 0.1, mem: 1) }
        #expect(FirstFitScheduler().schedule(SchedulingInput(agents: agents, pending: pending)).placements.count == 10)
    }
}
