import Model
import Scheduler
import Shared
import Testing

/// What an agent says it offers is bounded when it registers. Two agents that each claimed
/// about 2^62 MB made the leader's placement overflow adding the cluster up (the first
/// iteration with a pending task), and every master that took over stopped the same way.
@Suite struct AgentCapacityBoundsTests {
    static func registration(_ resources: String) throws -> JSONValue {
        try JSONParser.parse(Array(#"{"id":"a1","hostname":"h","address":"127.0.0.1:1","attributes":{},"resources":{\#(resources)}}"#.utf8))
    }

    @Test(arguments: [
        (#""cpu":1e300,"memoryMB":1024"#, "resources.cpu"),
        (#""cpu":4,"memoryMB":4611686018427387904"#, "resources.memoryMB"),
        (#""cpu":4,"memoryMB":1024,"diskMB":-1"#, "resources.diskMB"),
        (#""cpu":4,"memoryMB":1024,"networkMbps":4611686018427387904"#, "resources.networkMbps"),
    ])
    func anAgentOfferingMoreThanAnyMachineIsRefused(resources: String, field: String) throws {
        let json = try Self.registration(resources)
        #expect(throws: FieldError.self) { _ = try AgentRegistration(json: json) }
        do { _ = try AgentRegistration(json: json) } catch { #expect(error.field == field, "\(error)") }
    }

    @Test func aPlausibleAgentIsAccepted() throws {
        let agent = try AgentRegistration(json: Self.registration(#""cpu":192,"memoryMB":2097152,"diskMB":30000000,"networkMbps":100000"#))
        #expect(agent.resources.memoryMB == 2_097_152)
    }

    /// The bounds leave room to add up many agents of the largest size.
    @Test func manyAgentsOfTheLargestSizeAddUp() {
        let largest = Resources(cpu: AgentRegistration.cpuMax, memoryMB: AgentRegistration.memoryMBMax,
                                diskMB: AgentRegistration.diskMBMax, networkMbps: AgentRegistration.networkMbpsMax)
        let hosts = (1...1_000).map { AgentView(id: "h\($0)", total: largest) }
        var random = SeededRandom(seed: 1)
        let plan = ClusterScheduler.plan(SchedulingInput(agents: hosts, pending: [PendingTask(id: "t", jobId: "j", resources: Resources(cpu: 1, memoryMB: 512))]),
                                         configuration: SchedulerConfiguration(), random: &random)
        #expect(plan.placements.count == 1)
    }
}
