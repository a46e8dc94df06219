import Model

/// Fuller's scheduler: places pending tasks on agents by hard constraints, then fitness and soft
/// constraints, and explains every task it leaves pending.
///
/// Pure: no clock, no I/O; randomness only orders equal agents and comes from the generator the
/// caller seeds, so a run is replayable. One value serves one snapshot; `schedule` may be called
/// again with more tasks and sees the placements it already made (the simulator does that, the
/// leader builds a fresh one per iteration from the store).
///
/// Per task, in this order: tier order (critical, then flex, each in submit order); the capacity
/// group check (cluster-wide, can the task's group still use this much); a cache of shapes that
/// already failed in this run (resources only shrink within a run); then per agent class the
/// class rules, then the grid search (`ClusterScheduler+Search.swift`), keeping the best score,
/// stopping early once a score reaches `goodEnough`.
public struct ClusterScheduler: Sendable {
    public let configuration: SchedulerConfiguration
    var index: AgentIndex
    /// Agents left out because they take nothing new (draining, disabled, silent, unhealthy).
    let unschedulableCount: Int
    var jobs: [String: JobPlacementState] = [:]
    var placed: [String: [String]]
    /// Zones of the agents left out of the index: a job's tasks there still count for zoneBalance.
    let outsideZones: [String: String]
    var groupUsage: [String: Resources]
    var clusterFree: Resources
    /// Shapes (or constrained jobs) that found no agent in this run, with the reasons.
    var failed: [FailureKey: [String: Int]] = [:]

    public init<R: RandomNumberGenerator>(configuration: SchedulerConfiguration, agents: [AgentView],
                                          placed: [String: [String]] = [:], groupUsage: [String: Resources] = [:],
                                          random: inout R) {
        self.configuration = configuration
        var order = agents.indices.sorted { agents[$0].id < agents[$1].id }
        order.shuffle(using: &random)
        index = AgentIndex(agents, order: order, cellOrder: Self.cellOrder(configuration.fitness))
        unschedulableCount = agents.count - index.agentCount
        var outside: [String: String] = [:]
        for agent in agents where !agent.schedulable { outside[agent.id] = agent.attributes["zone"] ?? "" }
        outsideZones = outside
        self.placed = placed
        self.groupUsage = groupUsage
        clusterFree = index.utilisation().free
    }

    /// One iteration from a snapshot: the leader's entry point.
    public static func plan<R: RandomNumberGenerator>(_ input: SchedulingInput, configuration: SchedulerConfiguration,
                                                      random: inout R) -> PlacementPlan {
        var scheduler = ClusterScheduler(configuration: configuration, agents: input.agents, placed: input.placed,
                                         groupUsage: input.groupUsage, random: &random)
        return scheduler.schedule(input.pending)
    }

    /// Places what it can of `pending`: critical tasks first, submit order within a tier.
    public mutating func schedule(_ pending: [PendingTask]) -> PlacementPlan {
        var plan = PlacementPlan()
        for tier in [Tier.critical, .flex] {
            for task in pending where task.tier == tier {
                switch place(task) {
                case .placed(let agent): plan.placements.append(Placement(taskId: task.id, agentId: index.ids[Int(agent)]))
                case .refused(let reasons): plan.unplaced[task.id] = reasons
                }
            }
        }
        return plan
    }

    /// Total and free resources of the schedulable agents now (for the simulator's report).
    public func utilisation() -> (total: Resources, free: Resources) { index.utilisation() }

    enum Outcome { case placed(Int32), refused([String: Int]) }

    struct FailureKey: Hashable {
        var job: String
        var cpu: Double, memoryMB: Int, diskMB: Int, networkMbps: Int
        var group: String
        var tier: Tier
    }

    private mutating func place(_ task: PendingTask) -> Outcome {
        guard index.agentCount > 0 else {
            return .refused(unschedulableCount > 0 ? ["agent not schedulable": unschedulableCount] : ["no agents": 1])
        }
        let rules = PlacementRules(task.constraints)
        let r = task.resources
        let key = FailureKey(job: rules.isEmpty ? "" : task.jobId, cpu: r.cpu, memoryMB: r.memoryMB, diskMB: r.diskMB,
                             networkMbps: r.networkMbps, group: task.capacityGroup, tier: task.tier)
        if let reasons = failed[key] { return .refused(reasons) }
        guard groupAllows(task) else {
            return remember(key, .refused(withUnschedulable(["reserved for capacity groups": index.agentCount])))
        }
        if rules.tracksJob && jobs[task.jobId] == nil { jobs[task.jobId] = jobState(task) }
        var reasons: [String: Int] = [:]
        guard let agent = search(task, rules, &reasons) else {
            return remember(key, .refused(withUnschedulable(reasons)))
        }
        commit(task, rules, on: agent)
        return .placed(agent)
    }

    private mutating func remember(_ key: FailureKey, _ outcome: Outcome) -> Outcome {
        if case .refused(let reasons) = outcome { failed[key] = reasons }
        return outcome
    }

    private func withUnschedulable(_ reasons: [String: Int]) -> [String: Int] {
        var reasons = reasons
        if unschedulableCount > 0 { reasons["agent not schedulable", default: 0] += unschedulableCount }
        return reasons
    }

    private mutating func commit(_ task: PendingTask, _ rules: PlacementRules, on agent: Int32) {
        index.take(task.resources, from: agent, exclusiveJob: rules.exclusiveHard)
        clusterFree = clusterFree - task.resources
        groupUsage[task.capacityGroup, default: .zero] = groupUsage[task.capacityGroup, default: .zero] + task.resources
        if rules.tracksJob {
            jobs[task.jobId]!.agents.insert(agent)
            jobs[task.jobId]!.zoneCounts[index.zoneId(ofAgent: agent)] += 1
        }
    }

    /// The job's placements so far, from the snapshot. Tasks on agents outside the index
    /// (draining, silent) still count for their zone when schedulable agents share it.
    private func jobState(_ task: PendingTask) -> JobPlacementState {
        var state = JobPlacementState(zoneCount: index.zones.count, jobSize: task.jobSize)
        for agentId in placed[task.jobId] ?? [] {
            if let agent = index.indexById[agentId] {
                state.agents.insert(agent)
                state.zoneCounts[index.zoneId(ofAgent: agent)] += 1
            } else if let zone = outsideZones[agentId], let zoneId = index.zoneId(zone) {
                state.zoneCounts[zoneId] += 1
            }
        }
        return state
    }

    /// Capacity groups: the idle part of every other group's reservation is out of reach, unless
    /// the task is flex and the operator lets flex work borrow it. Cluster-wide, cpu and memory.
    private func groupAllows(_ task: PendingTask) -> Bool {
        guard !configuration.reservations.isEmpty else { return true }
        if task.tier == .flex && configuration.flexMayUseReserved { return true }
        var blocked = Resources.zero
        for (group, reserved) in configuration.reservations where group != task.capacityGroup {
            let used = groupUsage[group] ?? .zero
            blocked.cpu += max(0, reserved.cpu - used.cpu)
            blocked.memoryMB += max(0, reserved.memoryMB - used.memoryMB)
        }
        return task.resources.cpu <= clusterFree.cpu - blocked.cpu + 1e-9
            && task.resources.memoryMB <= clusterFree.memoryMB - blocked.memoryMB
    }

    /// Every cell of a class grid, fittest first for this fitness: bin-packing visits the fullest
    /// cells (lowest weighted free levels) first, spreading the emptiest.
    static func cellOrder(_ fitness: Fitness) -> [Int32] {
        let side = AgentIndex.side
        let weight = { (cell: Int) -> Double in
            fitness.cpuWeight * Double(cell / side) + fitness.memoryWeight * Double(cell % side)
        }
        let ascending = (0..<AgentIndex.cellCount).sorted { weight($0) != weight($1) ? weight($0) < weight($1) : $0 < $1 }
        return (fitness.direction == .binPacking ? ascending : ascending.reversed()).map { Int32($0) }
    }
}
