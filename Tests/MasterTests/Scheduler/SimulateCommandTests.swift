import Testing
@testable import Master
import Model
import Scheduler
import Shared
import TestSupport

/// `fuller-master simulate` and the scheduler flags: files in, report out.
@Suite struct SimulateCommandTests {
    static func parse(_ line: String) throws -> ParsedArguments {
        let root = CommandSpec("fuller-master", summary: "", subcommands: [SimulateCommand.spec])
        guard case .run(let parsed) = try ArgumentParser.parse(line.split(separator: " ").map(String.init), for: root, environment: [:]) else {
            throw TestFailure("not a run")
        }
        return parsed
    }

    @Test func reportsPlacementsUtilisationAndReasons() throws {
        let hosts = (1...4).map { AgentView(id: "h\($0)", attributes: ["zone": $0 <= 2 ? "a" : "b"], total: Resources(cpu: 4, memoryMB: 4_000)) }
        let tasks = (1...10).map { PendingTask(id: "t-\($0)", jobId: "t", resources: Resources(cpu: 2, memoryMB: 1_000)) }
        var random = SeededRandom(seed: 1)
        let report = SimulateCommand.simulate(agents: hosts, tasks: tasks, batch: 3, configuration: SchedulerConfiguration(), random: &random)
        #expect(report.placements.count == 8 && report.iterationSeconds.count == 4)
        let text = report.text(placements: false)
        #expect(text.contains("agents: 4  tasks: 10  placed: 8  pending: 2\n"))
        #expect(text.contains("utilisation: cpu 100.00%  memory 50.00%  network -\n"))
        #expect(text.contains("pending 2 tasks: 4 agents: insufficient cpu\n"))
    }

    @Test func schedulerFlagsBecomeTheConfiguration() throws {
        let parsed = try Self.parse("simulate --scheduler-fitness spread:cpu=2,memory=1 --scheduler-good-enough 0.8 --capacity-group prod=8/8192,batch=2/1024 --flex-uses-reserved")
        let c = try SchedulerFlags.configuration(parsed)
        #expect(c.fitness == .spreading(cpu: 2, memory: 1, network: 0) && c.goodEnough == 0.8 && c.flexMayUseReserved)
        #expect(c.reservations == ["prod": Resources(cpu: 8, memoryMB: 8_192), "batch": Resources(cpu: 2, memoryMB: 1_024)])
    }

    @Test(arguments: [
        ("simulate --scheduler-fitness pack", "--scheduler-fitness"),
        ("simulate --scheduler-good-enough 1.5", "--scheduler-good-enough"),
        ("simulate --capacity-group prod=8", "--capacity-group"),
        ("simulate --capacity-group =8/10", "--capacity-group"),
    ])
    func badFlagsNameTheFlag(line: String, flag: String) throws {
        let parsed = try Self.parse(line)
        #expect { try SchedulerFlags.configuration(parsed) } throws: { ($0 as? UsageError)?.message.hasPrefix(flag) == true }
    }
}
