import Testing
@testable import Autoscaler
import Model
import Shared

/// The autoscaler driven through random bursts of work on a simulated group, one seed per
/// run: providers that answer late, agents that boot slowly, tasks that end at random. Checked
/// every step (a tenth of the provider calls fail): no agent with a task is terminated or
/// drained, the group never goes above
/// `maxSize` (agents plus expected) nor below `minSize` by a scale-down; and once the work is
/// gone the group settles back to `minSize`.
@Suite struct AutoscalerSimulationTests {
    struct SimAgent {
        var snapshot: AgentSnapshot
        var tasks: [Int64] = []  // end times
    }

    static let rules: AutoscalerRules = {
        var rules = AutoscalerRules(provider: ProviderConfiguration(command: ["p"]), groups: [
            GroupRule(name: "g", minSize: 1, maxSize: 6, minIdle: 0, maxIdle: 1, cooldownMilliseconds: 10_000,
                      scaleUpTimeoutMilliseconds: 60_000, scaleDownStepMax: 2,
                      shape: AgentShape(resources: Resources(cpu: 2, memoryMB: 4_096), zones: ["a", "b", "c"])),
        ])
        rules.drainSettleMilliseconds = 1_000
        return rules
    }()

    @Test(arguments: 1...24)
    func invariantsHoldAndTheGroupSettles(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        var scaler = Autoscaler(rules: Self.rules)
        var agents: [SimAgent] = []
        var pending: [PendingDemand] = []
        var booting: [(at: Int64, count: Int)] = []
        var nextAgent = 0, nextTask = 0, peak = 0, failures = 0
        let rule = Self.rules.groups[0]
        for step in 0..<700 {
            let now = Int64(step) * 1_000
            // Work arrives during the first 200 s.
            if step < 200 && Int.random(in: 0..<10, using: &random) == 0 {
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    pending.append(PendingDemand(id: "t\(nextTask)", jobId: "j\(nextTask % 3)",
                                                 resources: Resources(cpu: [0.5, 1, 2].randomElement(using: &random)!, memoryMB: 512)))
                    nextTask += 1
                }
            }
            // Tasks end; agents boot; pending tasks are placed first fit.
            for i in agents.indices { agents[i].tasks.removeAll { $0 <= now } }
            for boot in booting where boot.at <= now {
                for _ in 0..<boot.count {
                    let zone = ["a", "b", "c"][nextAgent % 3]
                    agents.append(SimAgent(snapshot: AgentSnapshot(id: "n\(nextAgent)", attributes: ["machineGroup": "g", "zone": zone],
                                                                   total: rule.shape.resources, registeredAtMs: now)))
                    nextAgent += 1
                }
            }
            booting.removeAll { $0.at <= now }
            pending = place(pending, on: &agents, now: now, random: &random)
            for i in agents.indices {
                agents[i].snapshot.taskCount = agents[i].tasks.count
                agents[i].snapshot.used = Resources(cpu: Double(agents[i].tasks.count) * 0.5, memoryMB: 0)
            }
            let actions = scaler.plan(AutoscalerInput(nowMs: now, agents: agents.map(\.snapshot), pending: pending))
            for action in actions {
                let size = agents.count
                // One provider call in ten fails.
                if action.kind == .scaleUp || action.kind == .scaleDown, Int.random(in: 0..<10, using: &random) == 0 {
                    failures += 1
                    scaler.finished(action.id, .failed(message: "injected", attempts: 1), nowMs: now)
                    continue
                }
                switch action.kind {
                case .scaleUp:
                    #expect(action.desiredSize <= rule.maxSize, "seed=\(seed) step=\(step): \(action)")
                    booting.append((now + Int64.random(in: 2_000...15_000, using: &random), action.count))
                case .drain, .undrain:
                    let i = try #require(agents.firstIndex { $0.snapshot.id == action.agentIds[0] })
                    if action.kind == .drain { #expect(agents[i].tasks.isEmpty, "seed=\(seed): drained a busy agent") }
                    agents[i].snapshot.draining = action.kind == .drain
                case .scaleDown:
                    for id in action.agentIds {
                        #expect(agents.first { $0.snapshot.id == id }?.tasks.isEmpty == true, "seed=\(seed) step=\(step): terminated a busy agent")
                    }
                    agents.removeAll { action.agentIds.contains($0.snapshot.id) }
                    #expect(agents.count >= rule.minSize, "seed=\(seed) step=\(step): below minSize")
                }
                #expect(size + booting.reduce(0) { $0 + $1.count } <= rule.maxSize + action.agentIds.count,
                        "seed=\(seed) step=\(step): above maxSize")
                scaler.finished(action.id, .succeeded(agentIds: [], message: nil, attempts: 1), nowMs: now)
            }
            peak = max(peak, agents.count)
        }
        #expect(peak > 2, "seed=\(seed): the work never grew the group")
        #expect(pending.isEmpty, "seed=\(seed): \(pending.count) tasks never placed; \(scaler.status.groups[0].decision); \(agents.map { "\($0.snapshot.id) d=\($0.snapshot.draining) t=\($0.tasks.count)" })")
        #expect(agents.count == rule.minSize, "seed=\(seed): \(agents.count) agents after the work ended; \(scaler.status.groups[0].decision)")
    }

    /// First fit on schedulable agents (0.5 cpu per task slot, as the simulation counts); each
    /// placed task runs 5 to 60 s.
    private func place(_ pending: [PendingDemand], on agents: inout [SimAgent], now: Int64,
                       random: inout SeededRandom) -> [PendingDemand] {
        var left: [PendingDemand] = []
        for task in pending {
            let slots = Int(task.resources.cpu / 0.5)
            if let i = agents.firstIndex(where: { !$0.snapshot.draining && $0.tasks.count + slots <= 4 }) {
                let end = now + Int64.random(in: 5_000...60_000, using: &random)
                agents[i].tasks += Array(repeating: end, count: slots)
            } else {
                left.append(task)
            }
        }
        return left
    }
}
