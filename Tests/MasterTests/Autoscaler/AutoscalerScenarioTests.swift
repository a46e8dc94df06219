import Testing
@testable import Autoscaler
import Model

/// The autoscaler core, scenario by scenario: a cluster described in a few lines, `plan`
/// evaluated at chosen times, outcomes fed back as the shell would.
@Suite struct AutoscalerScenarioTests {
    static let shape = AgentShape(resources: Resources(cpu: 4, memoryMB: 8_192), zones: ["a", "b"])

    static func rules(min: Int = 0, max: Int = 10, minIdle: Int = 0, maxIdle: Int = 0, cooldownMs: Int64 = 60_000,
                      step: Int = 10) -> AutoscalerRules {
        var rules = AutoscalerRules(provider: ProviderConfiguration(command: ["p"]), groups: [
            GroupRule(name: "g", minSize: min, maxSize: max, minIdle: minIdle, maxIdle: maxIdle, cooldownMilliseconds: cooldownMs,
                      scaleUpTimeoutMilliseconds: 300_000, scaleDownStepMax: step, shape: shape),
        ])
        rules.drainSettleMilliseconds = 2_000
        return rules
    }

    static func agent(_ id: String, zone: String = "a", group: String = "g", tasks: Int = 0, cpuUsed: Double? = nil,
                      draining: Bool = false, registeredAtMs: Int64 = 0) -> AgentSnapshot {
        AgentSnapshot(id: id, attributes: ["zone": zone, "machineGroup": group], total: shape.resources,
                      used: Resources(cpu: cpuUsed ?? Double(tasks), memoryMB: 0), taskCount: tasks,
                      jobIds: tasks > 0 ? ["busy"] : [], draining: draining, registeredAtMs: registeredAtMs)
    }

    static func tasks(_ n: Int, cpu: Double = 1, job: String = "j", hard: [String: String] = [:]) -> [PendingDemand] {
        (0..<n).map { PendingDemand(id: "\(job)-\($0)", jobId: job, resources: Resources(cpu: cpu, memoryMB: 256), hardConstraints: hard) }
    }

    static func succeed(_ scaler: inout Autoscaler, _ actions: [AutoscalerAction], at nowMs: Int64) {
        for action in actions { scaler.finished(action.id, .succeeded(agentIds: [], message: nil, attempts: 1), nowMs: nowMs) }
    }

    // MARK: Scale-up

    @Test func aBurstThatFitsNoAgentAsksForTheAgentsItFillsNotOnePerTask() {
        var scaler = Autoscaler(rules: Self.rules())
        let full = Self.agent("a1", tasks: 4)
        let actions = scaler.plan(AutoscalerInput(nowMs: 1_000, agents: [full], pending: Self.tasks(10)))
        #expect(actions.map(\.kind) == [.scaleUp])
        #expect(actions.first?.count == 3)  // 10 one-cpu tasks on 4-cpu agents
        #expect(actions.first?.desiredSize == 4)
        #expect(actions.first?.reason.contains("10 pending task(s) fit no agent") == true)
    }

    @Test func tasksThatFitTheFreeRoomLeftAskForNothing() {
        var scaler = Autoscaler(rules: Self.rules())
        let halfFull = Self.agent("a1", tasks: 1)  // 3 cpu free
        #expect(scaler.plan(AutoscalerInput(nowMs: 1_000, agents: [halfFull], pending: Self.tasks(3))).isEmpty)
        #expect(scaler.status.groups[0].shortfallTasks == 0)
    }

    @Test func scaleUpIsCappedByMaxSizeAndTheRestIsReportedUnsatisfied() {
        var scaler = Autoscaler(rules: Self.rules(max: 3))
        let actions = scaler.plan(AutoscalerInput(nowMs: 0, agents: [Self.agent("a1", tasks: 4)], pending: Self.tasks(16)))
        #expect(actions.first?.kind == .scaleUp && actions.first?.count == 2)
        #expect(scaler.status.groups[0].unsatisfiedTasks == 8)
    }

    @Test func requestedAgentsAreNotAskedForAgainWhileTheyBoot() {
        var scaler = Autoscaler(rules: Self.rules())
        let agents = [Self.agent("a1", tasks: 4)]
        let first = scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: Self.tasks(8)))
        #expect(first.first?.count == 2)
        // Still running at the provider: nothing new.
        #expect(scaler.plan(AutoscalerInput(nowMs: 5_000, agents: agents, pending: Self.tasks(8))).isEmpty)
        Self.succeed(&scaler, first, at: 6_000)
        // Done, agents not registered yet: they are expected, so the same tasks ask for nothing.
        #expect(scaler.plan(AutoscalerInput(nowMs: 10_000, agents: agents, pending: Self.tasks(8))).isEmpty)
        #expect(scaler.status.groups[0].expected == 2)
        // One arrives: one still expected.
        let arrived = agents + [Self.agent("n1", tasks: 4, registeredAtMs: 11_000)]
        #expect(scaler.plan(AutoscalerInput(nowMs: 12_000, agents: arrived, pending: Self.tasks(4))).isEmpty)
        #expect(scaler.status.groups[0].expected == 1)
        // The other never comes: after the scale-up timeout it is asked for again.
        let again = scaler.plan(AutoscalerInput(nowMs: 400_000, agents: arrived, pending: Self.tasks(4)))
        #expect(again.map(\.kind) == [.scaleUp] && again.first?.count == 1)
        #expect(scaler.status.groups[0].decision.contains("never registered"))
    }

    @Test func aShortfallScalesUpDuringTheCooldown() {
        var scaler = Autoscaler(rules: Self.rules(cooldownMs: 600_000))
        var agents = [Self.agent("a1", tasks: 4)]
        let first = scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: Self.tasks(4)))
        #expect(first.first?.count == 1)
        Self.succeed(&scaler, first, at: 1_000)
        agents.append(Self.agent("n1", tasks: 4, registeredAtMs: 2_000))
        #expect(scaler.status.groups[0].cooldownUntilMs == 600_000)
        let second = scaler.plan(AutoscalerInput(nowMs: 3_000, agents: agents, pending: Self.tasks(5, job: "k")))
        #expect(second.map(\.kind) == [.scaleUp] && second.first?.count == 2)
    }

    @Test func minSizeIsRestoredWithoutWaitingForTheCooldown() {
        var scaler = Autoscaler(rules: Self.rules(min: 2))
        let actions = scaler.plan(AutoscalerInput(nowMs: 0, agents: [], pending: []))
        #expect(actions.map(\.kind) == [.scaleUp] && actions.first?.count == 2)
        #expect(actions.first?.reason.contains("below minSize 2") == true)
    }

    @Test func minIdleScalesUpOnlyAfterTheCooldown() {
        var scaler = Autoscaler(rules: Self.rules(minIdle: 1, maxIdle: 2, cooldownMs: 60_000))
        let busy = [Self.agent("a1", tasks: 2)]
        let first = scaler.plan(AutoscalerInput(nowMs: 0, agents: busy, pending: []))
        #expect(first.map(\.kind) == [.scaleUp] && first.first?.count == 1)
        Self.succeed(&scaler, first, at: 1_000)
        // The new agent arrived and was immediately given work: idle is 0 again, but cooling down.
        let both = busy + [Self.agent("n1", tasks: 1, registeredAtMs: 2_000)]
        #expect(scaler.plan(AutoscalerInput(nowMs: 30_000, agents: both, pending: [])).isEmpty)
        #expect(scaler.status.groups[0].decision.contains("steady"))
        let later = scaler.plan(AutoscalerInput(nowMs: 61_000, agents: both, pending: []))
        #expect(later.map(\.kind) == [.scaleUp] && later.first?.reason.contains("below minIdle 1") == true)
    }

    @Test func aFailedScaleUpBacksOffEvenForAShortfall() {
        var scaler = Autoscaler(rules: Self.rules())
        let agents = [Self.agent("a1", tasks: 4)]
        let first = scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: Self.tasks(1)))
        scaler.finished(first[0].id, .failed(message: "quota", attempts: 3), nowMs: 1_000)
        #expect(scaler.status.actions.last?.result == .failed && scaler.status.actions.last?.message == "quota")
        #expect(scaler.plan(AutoscalerInput(nowMs: 10_000, agents: agents, pending: Self.tasks(1))).isEmpty)
        #expect(scaler.status.groups[0].decision.contains("provider failed"))
        #expect(scaler.plan(AutoscalerInput(nowMs: 31_000, agents: agents, pending: Self.tasks(1))).map(\.kind) == [.scaleUp])
    }

    // MARK: Scale-down

    @Test func idleAgentsAboveMaxIdleAreDrainedThenTerminatedBusyOnesNever() {
        var scaler = Autoscaler(rules: Self.rules(min: 1, maxIdle: 1, cooldownMs: 10_000))
        var agents = [Self.agent("busy", tasks: 3), Self.agent("i1"), Self.agent("i2"), Self.agent("i3")]
        let drains = scaler.plan(AutoscalerInput(nowMs: 20_000, agents: agents, pending: []))
        #expect(drains.map(\.kind) == [.drain, .drain])
        #expect(!drains.flatMap(\.agentIds).contains("busy"))
        Self.succeed(&scaler, drains, at: 20_000)
        let drained = Set(drains.flatMap(\.agentIds))
        for i in agents.indices where drained.contains(agents[i].id) { agents[i].draining = true }
        // Not settled yet.
        #expect(scaler.plan(AutoscalerInput(nowMs: 21_000, agents: agents, pending: [])).isEmpty)
        let down = scaler.plan(AutoscalerInput(nowMs: 23_000, agents: agents, pending: []))
        #expect(down.map(\.kind) == [.scaleDown])
        #expect(Set(down[0].agentIds) == drained && down[0].desiredSize == 2)
        Self.succeed(&scaler, down, at: 24_000)
        // Retired agents are ignored even if they show up once more while shutting down.
        #expect(scaler.plan(AutoscalerInput(nowMs: 40_000, agents: agents, pending: [])).isEmpty)
        #expect(scaler.status.groups[0].size == 2)
    }

    @Test func aDrainedAgentThatGotATaskIsTakenBackNotTerminated() {
        var scaler = Autoscaler(rules: Self.rules(maxIdle: 0, cooldownMs: 0))
        var agents = [Self.agent("i1")]
        let drains = scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: []))
        #expect(drains.map(\.kind) == [.drain])
        Self.succeed(&scaler, drains, at: 0)
        agents[0].draining = true
        agents[0].taskCount = 1  // placed just before the drain took effect
        let next = scaler.plan(AutoscalerInput(nowMs: 5_000, agents: agents, pending: []))
        #expect(next.map(\.kind) == [.undrain] && next[0].agentIds == ["i1"])
    }

    @Test func aDrainedIdleAgentThatWentSilentIsStillTerminatedNotReused() {
        var scaler = Autoscaler(rules: Self.rules(maxIdle: 0, cooldownMs: 0))
        var agents = [Self.agent("i1"), Self.agent("full", tasks: 4)]
        #expect(scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: [])).map(\.kind) == [.drain])
        agents[0].draining = true
        agents[0].responsive = false
        let next = scaler.plan(AutoscalerInput(nowMs: 5_000, agents: agents, pending: Self.tasks(2)))
        #expect(next.map(\.kind) == [.scaleUp])
        Self.succeed(&scaler, next, at: 5_000)
        #expect(scaler.plan(AutoscalerInput(nowMs: 6_000, agents: agents, pending: Self.tasks(2))).map(\.kind) == [.scaleDown])
    }

    @Test func pendingWorkTakesADrainedAgentBackInsteadOfAskingForANewOne() {
        var scaler = Autoscaler(rules: Self.rules(maxIdle: 0, cooldownMs: 0))
        var agents = [Self.agent("i1"), Self.agent("full", tasks: 4)]
        let drains = scaler.plan(AutoscalerInput(nowMs: 0, agents: agents, pending: []))
        #expect(drains.map(\.agentIds) == [["i1"]])
        agents[0].draining = true
        let next = scaler.plan(AutoscalerInput(nowMs: 1_000, agents: agents, pending: Self.tasks(2)))
        #expect(next.map(\.kind) == [.undrain] && next[0].agentIds == ["i1"])
    }

    @Test func noScaleDownBelowMinSizeOrWithinTheCooldownOrOfYoungAgents() {
        var scaler = Autoscaler(rules: Self.rules(min: 2, maxIdle: 0, cooldownMs: 60_000))
        let agents = [Self.agent("i1"), Self.agent("i2"), Self.agent("young", registeredAtMs: 50_000)]
        // Young: registered less than a cooldown ago.
        let drains = scaler.plan(AutoscalerInput(nowMs: 70_000, agents: agents, pending: []))
        #expect(drains.map(\.agentIds) == [["i1"]])
        // min 2 keeps the other two; the cooldown would hold them anyway.
        #expect(scaler.plan(AutoscalerInput(nowMs: 200_000, agents: [agents[1], agents[2]], pending: [])).isEmpty)
    }

    @Test(arguments: [
        // zones of idle agents → zones drained first, down to maxIdle 0 and minSize
        (["a", "a", "a", "b"], 2, ["a", "a"]),
        (["a", "a", "b", "b"], 2, ["a", "b"]),
        (["a", "b", "c", "c", "c"], 3, ["c", "c", "a"]),
    ])
    func scaleDownKeepsTheZonesBalanced(zones: [String], drainCount: Int, expected: [String]) {
        var scaler = Autoscaler(rules: Self.rules(min: zones.count - drainCount, maxIdle: 0, cooldownMs: 0))
        let agents = zones.enumerated().map { Self.agent("x\($0.offset)", zone: $0.element, registeredAtMs: Int64($0.offset)) }
        let drained = scaler.plan(AutoscalerInput(nowMs: 1_000, agents: agents, pending: [])).flatMap(\.agentIds)
        let byId = Dictionary(uniqueKeysWithValues: agents.map { ($0.id, $0.zone!) })
        #expect(drained.map { byId[$0]! } == expected)
    }

    // MARK: Constraints and groups

    @Test func constraintsDecideWhichGroupGrowsAndHowMuch() {
        var rules = Self.rules()
        rules.groups.append(GroupRule(name: "gpu", maxSize: 5, shape: AgentShape(resources: Resources(cpu: 8, memoryMB: 8_192),
                                                                              zones: ["a"], machineType: "p3")))
        var scaler = Autoscaler(rules: rules)
        let pending = Self.tasks(3, job: "unique", hard: ["uniqueHost": "true"])
            + Self.tasks(2, job: "typed", hard: ["machineType": "p3"])
            + Self.tasks(1, job: "nowhere", hard: ["availabilityZone": "z"])
        let actions = scaler.plan(AutoscalerInput(nowMs: 0, agents: [], pending: pending))
        #expect(actions.map { "\($0.group):\($0.count)" } == ["g:3", "gpu:1"])
        #expect(scaler.status.unmatchedTasks == 1)
    }

    @Test func anExclusiveTaskTakesAWholeAgent() {
        var scaler = Autoscaler(rules: Self.rules())
        let pending = Self.tasks(2, cpu: 0.5, job: "ex", hard: ["exclusiveHost": "true"]) + Self.tasks(2, cpu: 0.5)
        #expect(scaler.plan(AutoscalerInput(nowMs: 0, agents: [], pending: pending)).first?.count == 3)
    }
}
