import Model

/// A cluster in memory for scenario files and property tests: agents, the tasks placed on them
/// and the tasks waiting. Each `schedule` takes a snapshot, runs a fresh `ClusterScheduler` on it
/// (as the leader does every iteration) and applies the plan.
public struct ScenarioWorld<R: RandomNumberGenerator & Sendable>: Sendable {
    public private(set) var configuration = SchedulerConfiguration()
    public private(set) var agents: [AgentView] = []
    public private(set) var pending: [PendingTask] = []
    /// Job id → agent ids of its placed tasks.
    public private(set) var placed: [String: [String]] = [:]
    public private(set) var groupUsage: [String: Resources] = [:]
    public private(set) var placements: [Placement] = []
    private var agentIndex: [String: Int] = [:]
    private var random: R

    public init(random: R) { self.random = random }

    /// Runs one command; `schedule` answers with one line per placement and per task left
    /// pending (`placed web-1 h2`, `pending web-3: 2 agents: uniqueHost`).
    @discardableResult
    public mutating func run(_ command: ScenarioCommand) -> [String] {
        switch command {
        case .config(let c): configuration = c
        case .addHosts(let hosts):
            for host in hosts {
                agentIndex[host.id] = agents.count
                agents.append(host)
            }
        case .submit(let tasks): pending += tasks
        case .drain(let host):
            guard let i = agentIndex[host] else { return ["no host \(host)"] }
            agents[i].schedulable = false
        case .schedule: return schedule()
        }
        return []
    }

    private mutating func schedule() -> [String] {
        let input = SchedulingInput(agents: agents, pending: pending, placed: placed, groupUsage: groupUsage)
        let plan = ClusterScheduler.plan(input, configuration: configuration, random: &random)
        var lines: [String] = []
        let byId = Dictionary(uniqueKeysWithValues: pending.map { ($0.id, $0) })
        for placement in plan.placements {
            apply(byId[placement.taskId]!, placement.agentId)
            lines.append("placed \(placement.taskId) \(placement.agentId)")
        }
        let done = Set(plan.placements.map(\.taskId))
        pending.removeAll { done.contains($0.id) }
        for task in pending {
            lines.append("pending \(task.id): \(PlacementPlan.explain(plan.unplaced[task.id] ?? [:]))")
        }
        return lines
    }

    private mutating func apply(_ task: PendingTask, _ agentId: String) {
        let i = agentIndex[agentId]!
        agents[i].used = agents[i].used + task.resources
        agents[i].taskCount += 1
        if task.constraints.hard["exclusiveHost"] == "true" { agents[i].exclusive = true }
        placed[task.jobId, default: []].append(agentId)
        groupUsage[task.capacityGroup] = (groupUsage[task.capacityGroup] ?? .zero) + task.resources
        placements.append(Placement(taskId: task.id, agentId: agentId))
    }
}
