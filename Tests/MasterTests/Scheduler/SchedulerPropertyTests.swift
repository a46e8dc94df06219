import Foundation
import Model
import Scheduler
import Shared
import Testing

/// Random clusters and workloads from a seed: whatever the scheduler decides, no agent is
/// over-committed, every hard constraint holds, every task left pending is explained by every
/// agent, and the same seed gives the same plan. A failure prints its seed;
/// `FULLER_SCHEDULER_SEEDS=N` runs seeds 1…N (default 40).
@Suite struct SchedulerPropertyTests {
    static let seeds: [UInt64] = Array(1...UInt64(ProcessInfo.processInfo.environment["FULLER_SCHEDULER_SEEDS"].flatMap { UInt64($0) }.map { max(1, $0) } ?? 40))

    @Test(arguments: seeds)
    func invariantsHold(seed: UInt64) throws {
        let (commands, configuration) = Self.generate(seed: seed)
        var world = ScenarioWorld(random: SeededRandom(seed: seed))
        world.run(.config(configuration))
        var lines: [String] = []
        for command in commands {
            let before = world.placements.count
            lines += world.run(command)
            Self.checkReservation(world, configuration, newPlacements: world.placements[before...], seed: seed)
        }
        try Self.check(world, lines, seed: seed)
    }

    /// Without flex borrowing, once another group's task was placed in a run the free cluster
    /// still covers the idle part of g1's reservation. (With borrowing, flex tasks placed after
    /// a critical one may rightly take it, so there is nothing as simple to check.)
    static func checkReservation(_ world: ScenarioWorld<SeededRandom>, _ configuration: SchedulerConfiguration,
                                 newPlacements: ArraySlice<Placement>, seed: UInt64) {
        guard let reserved = configuration.reservations["g1"], !configuration.flexMayUseReserved else { return }
        let tasks = Dictionary(uniqueKeysWithValues: generate(seed: seed).0.flatMap { c -> [PendingTask] in
            if case .submit(let t) = c { return t } else { return [] }
        }.map { ($0.id, $0) })
        let others = newPlacements.map { tasks[$0.taskId]! }.filter { $0.capacityGroup != "g1" }
        guard !others.isEmpty else { return }
        let free = world.agents.filter(\.schedulable).reduce(Resources.zero) { $0 + $1.free }
        let used = world.groupUsage["g1"] ?? .zero
        #expect(free.cpu >= max(0, reserved.cpu - used.cpu) - 1e-9, "seed=\(seed): g1's idle cpu taken by \(others.map(\.id))")
        #expect(free.memoryMB >= max(0, reserved.memoryMB - used.memoryMB), "seed=\(seed): g1's idle memory taken")
    }

    @Test(arguments: [UInt64(3), 17, 29])
    func sameSeedSamePlan(seed: UInt64) {
        let run = { () -> [String] in
            let (commands, configuration) = Self.generate(seed: seed)
            var world = ScenarioWorld(random: SeededRandom(seed: seed))
            world.run(.config(configuration))
            return commands.flatMap { world.run($0) }
        }
        let first = run()
        #expect(!first.isEmpty)
        #expect(first == run(), "seed=\(seed)")
    }

    @Test func differentSeedsBreakTiesDifferently() {
        let hosts = (1...20).map { AgentView(id: "h\($0)", total: Resources(cpu: 4, memoryMB: 4096)) }
        let task = PendingTask(id: "t", jobId: "j", resources: Resources(cpu: 1, memoryMB: 512))
        let chosen = Set((1...10).map { (seed: UInt64) -> String in
            var random = SeededRandom(seed: seed)
            return ClusterScheduler.plan(SchedulingInput(agents: hosts, pending: [task]), configuration: SchedulerConfiguration(),
                                         random: &random).placements[0].agentId
        })
        #expect(chosen.count > 1)
    }

    // MARK: Generator

    static func generate(seed: UInt64) -> ([ScenarioCommand], SchedulerConfiguration) {
        var random = SeededRandom(seed: seed &* 7919)
        let zones = ["a", "b", "c"].prefix(Int.random(in: 1...3, using: &random))
        var hosts: [AgentView] = []
        for n in stride(from: 1, through: Int.random(in: 0...30, using: &random), by: 1) {
            let cpu = [2.0, 4, 8, 16].randomElement(using: &random)!
            hosts.append(AgentView(id: "h\(n)", attributes: [
                "zone": zones.randomElement(using: &random)!, "machineType": ["m5", "c5"].randomElement(using: &random)!,
                "machineGroup": ["web", "batch"].randomElement(using: &random)!, "rack": "r\(n % 4)",
            ], total: Resources(cpu: cpu, memoryMB: Int(cpu) * [512, 1024, 2048].randomElement(using: &random)!,
                                networkMbps: [0, 1_000].randomElement(using: &random)!),
            schedulable: Int.random(in: 0..<10, using: &random) > 0))
        }
        var commands: [ScenarioCommand] = [.addHosts(hosts)]
        for j in 1...Int.random(in: 1...25, using: &random) {
            commands.append(.submit(job(j, &random)))
            if Bool.random(using: &random) { commands.append(.schedule) }
        }
        commands.append(.schedule)
        var configuration = SchedulerConfiguration(
            fitness: [Fitness.binPacking(cpu: 1, memory: 1, network: 0), .spreading(cpu: 1, memory: 0, network: 1),
                      .binPacking(cpu: 0, memory: 1, network: 1)].randomElement(using: &random)!,
            goodEnough: Bool.random(using: &random) ? 0.5 : nil)
        if Bool.random(using: &random) { configuration.reservations["g1"] = Resources(cpu: 8, memoryMB: 8_192) }
        configuration.flexMayUseReserved = Bool.random(using: &random)
        return (commands, configuration)
    }

    static func job(_ n: Int, _ random: inout SeededRandom) -> [PendingTask] {
        let names = ["uniqueHost", "exclusiveHost", "zoneBalance", "availabilityZone", "machineType", "machineGroup", "hostAttribute:rack"]
        let values = ["availabilityZone": ["a", "b", "c"], "machineType": ["m5", "c5"], "machineGroup": ["web", "batch"],
                      "hostAttribute:rack": ["r0", "r1", "r2"]]
        var hard: [String: String] = [:], soft: [String: String] = [:]
        for name in names where Int.random(in: 0..<5, using: &random) == 0 {
            let value = values[name]?.randomElement(using: &random) ?? "true"
            if Bool.random(using: &random) { hard[name] = value } else { soft[name] = value }
        }
        let count = Int.random(in: 1...8, using: &random)
        let resources = Resources(cpu: [0.5, 1, 2, 3].randomElement(using: &random)!, memoryMB: [256, 1_024, 3_000].randomElement(using: &random)!,
                                  networkMbps: [0, 0, 100].randomElement(using: &random)!)
        let tier: Tier = Bool.random(using: &random) ? .critical : .flex
        let group = ["default", "g1", "g2"].randomElement(using: &random)!
        return (1...count).map {
            PendingTask(id: "j\(n)-\($0)", jobId: "j\(n)", resources: resources, tier: tier, capacityGroup: group,
                        constraints: Constraints(hard: hard, soft: soft), jobSize: count)
        }
    }

    // MARK: Invariants

    static func check(_ world: ScenarioWorld<SeededRandom>, _ lines: [String], seed: UInt64) throws {
        let agents = Dictionary(uniqueKeysWithValues: world.agents.map { ($0.id, $0) })
        var tasksByAgent: [String: [PendingTask]] = [:]
        let all = Dictionary(uniqueKeysWithValues: Self.generate(seed: seed).0.flatMap { c -> [PendingTask] in
            if case .submit(let t) = c { return t } else { return [] }
        }.map { ($0.id, $0) })
        for p in world.placements { tasksByAgent[p.agentId, default: []].append(all[p.taskId]!) }
        let zones = Set(world.agents.filter(\.schedulable).map { $0.attributes["zone"] ?? "" })
        for (agentId, tasks) in tasksByAgent {
            let agent = agents[agentId]!
            #expect(agent.schedulable, "seed=\(seed): \(agentId) is not schedulable yet got work")
            let used = tasks.reduce(Resources.zero) { $0 + $1.resources }
            #expect(agent.total.shortfall(for: used) == nil, "seed=\(seed): \(agentId) over-committed: \(used) of \(agent.total)")
            for task in tasks { checkHard(task, agent, tasks, seed: seed) }
        }
        var zoneCounts: [String: [String: Int]] = [:]
        for p in world.placements {
            let task = all[p.taskId]!
            guard task.constraints.hard["zoneBalance"] == "true" else { continue }
            zoneCounts[task.jobId, default: [:]][agents[p.agentId]!.attributes["zone"] ?? "", default: 0] += 1
            let limit = (task.jobSize + zones.count - 1) / zones.count
            #expect(zoneCounts[task.jobId]![agents[p.agentId]!.attributes["zone"] ?? ""]! <= limit, "seed=\(seed): zoneBalance broken for \(task.jobId)")
        }
        try checkExplanations(world, lines, seed: seed)
    }

    static func checkHard(_ task: PendingTask, _ agent: AgentView, _ neighbours: [PendingTask], seed: UInt64) {
        let hard = task.constraints.hard
        if hard["uniqueHost"] == "true" {
            #expect(neighbours.filter { $0.jobId == task.jobId }.count == 1, "seed=\(seed): uniqueHost broken for \(task.id) on \(agent.id)")
        }
        if hard["exclusiveHost"] == "true" {
            #expect(neighbours.count == 1, "seed=\(seed): exclusiveHost broken for \(task.id) on \(agent.id)")
        }
        let attributes = ["availabilityZone": "zone", "machineType": "machineType", "machineGroup": "machineGroup", "hostAttribute:rack": "rack"]
        for (constraint, attribute) in attributes {
            if let want = hard[constraint] {
                #expect(agent.attributes[attribute] == want, "seed=\(seed): \(constraint) broken for \(task.id) on \(agent.id)")
            }
        }
    }

    /// Each pending task's last explanation counts every agent exactly once.
    static func checkExplanations(_ world: ScenarioWorld<SeededRandom>, _ lines: [String], seed: UInt64) throws {
        for task in world.pending {
            let line = try #require(lines.last { $0.hasPrefix("pending \(task.id): ") }, "seed=\(seed): \(task.id) not explained")
            let counts = line.dropFirst("pending \(task.id): ".count).split(separator: ";").map {
                Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) ?? -1
            }
            let expected = world.agents.isEmpty ? 1 : world.agents.count
            #expect(counts.reduce(0, +) == expected, "seed=\(seed): \(line) does not count \(expected) agents")
        }
    }
}
