import Foundation
import Glibc
import Model
import Scheduler
import Shared

/// `fuller-master simulate`: the real scheduler on a cluster and a workload described in files
/// (docs/scheduler.md) — the capacity-planning tool and the scheduler's benchmark.
///
/// The tasks are offered in batches, one scheduling iteration each, against one scheduler that
/// keeps its placements between iterations (as the cluster would). Every task is tried once.
enum SimulateCommand {
    static let spec = CommandSpec("simulate", summary: "Run the scheduler on a cluster file and a workload file; print placements, utilisation, pending reasons and timing.",
                                  flags: [
                                      Flag("cluster", .string, help: "File of add-host / add-hosts lines.", valueName: "FILE"),
                                      Flag("workload", .string, help: "File of submit lines.", valueName: "FILE"),
                                      Flag("batch", .int, default: .int(200), help: "Tasks offered per scheduling iteration."),
                                      Flag("seed", .int, default: .int(1), help: "Seed for the task shuffle and agent order."),
                                      Flag("shuffle", .bool, help: "Offer the tasks in a random order (from --seed) instead of file order."),
                                      Flag("placements", .bool, help: "Print every placement (task agent)."),
                                  ] + SchedulerFlags.flags)

    static let batchMax = 100_000

    static func run(_ args: ParsedArguments) -> Int32 {
        do {
            let configuration = try SchedulerFlags.configuration(args)
            let batch = args.int("batch") ?? 200
            guard batch > 0, batch <= batchMax else { throw UsageError(message: "--batch: must be 1...\(batchMax)") }
            let agents = try hosts(try commands(args, "cluster"))
            var tasks = try workload(try commands(args, "workload"))
            var random = SeededRandom(seed: UInt64(bitPattern: Int64(args.int("seed") ?? 1)))
            if args.bool("shuffle") { tasks.shuffle(using: &random) }
            let report = simulate(agents: agents, tasks: tasks, batch: batch, configuration: configuration, random: &random)
            print(report.text(placements: args.bool("placements")), terminator: "")
            return 0
        } catch let e as UsageError {
            FileHandle.standardError.write(Data("fuller-master simulate: \(e.message)\n".utf8))
            return 2
        } catch {
            FileHandle.standardError.write(Data("fuller-master simulate: \(error)\n".utf8))
            return 1
        }
    }

    static func simulate(agents: [AgentView], tasks: [PendingTask], batch: Int, configuration: SchedulerConfiguration,
                         random: inout SeededRandom) -> SimulationReport {
        let clock = ContinuousClock()
        var report = SimulationReport(agents: agents.count, tasks: tasks.count)
        let buildStart = clock.now
        var scheduler = ClusterScheduler(configuration: configuration, agents: agents, random: &random)
        report.indexSeconds = (clock.now - buildStart).seconds
        var start = 0
        while start < tasks.count {
            let slice = Array(tasks[start..<min(start + batch, tasks.count)])
            let began = clock.now, cpuBegan = threadCPUSeconds()
            let plan = scheduler.schedule(slice)
            report.iterationSeconds.append((clock.now - began).seconds)
            report.iterationCPUSeconds += threadCPUSeconds() - cpuBegan
            report.placements += plan.placements
            for task in slice where plan.unplaced[task.id] != nil {
                report.pendingByReason[PlacementPlan.explain(plan.unplaced[task.id]!), default: 0] += 1
            }
            start += batch
        }
        (report.total, report.free) = scheduler.utilisation()
        return report
    }

    /// CPU time this thread has used: unlike wall time, it leaves out time the machine gave to
    /// other processes, so iteration costs compare across a busy and a quiet machine.
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    private static func commands(_ args: ParsedArguments, _ flag: String) throws -> [ScenarioCommand] {
        guard let path = args.string(flag) else { throw UsageError(message: "--\(flag) is required") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsageError(message: "--\(flag): cannot read \(path)")
        }
        do { return try ScenarioCommand.parse(text).map(\.command) } catch {
            throw UsageError(message: "\(path): \(error)")
        }
    }

    private static func hosts(_ commands: [ScenarioCommand]) throws(UsageError) -> [AgentView] {
        var hosts: [AgentView] = []
        for command in commands {
            switch command {
            case .addHosts(let more): hosts += more
            case .drain(let name):
                guard let i = hosts.firstIndex(where: { $0.id == name }) else { throw UsageError(message: "--cluster: drain \(name): no such host") }
                hosts[i].schedulable = false
            default: throw UsageError(message: "--cluster: only add-host, add-hosts and drain lines belong there")
            }
        }
        return hosts
    }

    private static func workload(_ commands: [ScenarioCommand]) throws(UsageError) -> [PendingTask] {
        var tasks: [PendingTask] = []
        for command in commands {
            guard case .submit(let more) = command else { throw UsageError(message: "--workload: only submit lines belong there") }
            tasks += more
        }
        return tasks
    }
}
