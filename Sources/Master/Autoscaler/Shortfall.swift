import Model

/// Shortfall analysis: which pending tasks fit no agent there is, and how many new agents of a
/// group's shape they need.
///
/// Both steps pack tasks into "bins" (an agent's free resources): first fit in placement order
/// onto the agents that exist (as the scheduler would place them), then first-fit decreasing
/// onto drained agents, agents already requested, and new agents of the group's shape. So a
/// burst of 40 small tasks asks for the 3 agents they fill, not 40.
///
/// Hard constraints that change the answer are honoured: `machineGroup`, `machineType`,
/// `availabilityZone`, `hostAttribute:<key>`, `uniqueHost` and `exclusiveHost`. (This is a
/// model of the scheduler's rules, kept here so the autoscaler depends on nothing but the model.)
enum Shortfall {
    /// An agent's remaining room while packing.
    struct Bin {
        var attributes: [String: String]
        var free: Resources
        var jobIds: Set<String>
        var taskCount: Int
        /// Holds an `exclusiveHost` task: nothing else goes there.
        var closed = false
        /// A new agent whose zone the provider picks: any of these (nil for a real agent).
        var zoneChoices: [String]?

        init(_ agent: AgentSnapshot) {
            attributes = agent.attributes
            free = agent.free
            jobIds = agent.jobIds
            taskCount = agent.taskCount
        }

        init(shape: AgentShape, group: String) {
            attributes = shape.attributes
            attributes["machineGroup"] = group
            attributes["machineType"] = shape.machineType
            free = shape.resources
            jobIds = []
            taskCount = 0
            zoneChoices = shape.zones
        }

        func accepts(_ task: PendingDemand) -> Bool {
            guard !closed, free.shortfall(for: task.resources) == nil else { return false }
            for (name, value) in task.hardConstraints {
                switch name {
                case "uniqueHost": if value == "true" && jobIds.contains(task.jobId) { return false }
                case "exclusiveHost": if value == "true" && taskCount > 0 { return false }
                case "availabilityZone":
                    if let zone = attributes["zone"] { if zone != value { return false } }
                    else if !(zoneChoices ?? []).contains(value) { return false }
                case "machineGroup": if attributes["machineGroup"] != value { return false }
                case "machineType": if attributes["machineType"] != value { return false }
                case _ where name.hasPrefix(Constraints.hostAttributePrefix):
                    if attributes[String(name.dropFirst(Constraints.hostAttributePrefix.count))] != value { return false }
                default: continue  // soft in effect (zoneBalance) or unknown: no effect on fit
                }
            }
            return true
        }

        mutating func take(_ task: PendingDemand) {
            free = free - task.resources
            jobIds.insert(task.jobId)
            taskCount += 1
            if task.hardConstraints["exclusiveHost"] == "true" { closed = true }
            if attributes["zone"] == nil, let zone = task.hardConstraints["availabilityZone"] { attributes["zone"] = zone }
        }
    }

    /// The pending tasks that do not fit, in order, on the schedulable agents' free resources.
    static func unplaceable(_ pending: [PendingDemand], agents: [AgentSnapshot]) -> [PendingDemand] {
        var bins = agents.filter(\.schedulable).sorted { $0.id < $1.id }.map(Bin.init)
        var left: [PendingDemand] = []
        for task in pending {
            if let i = bins.firstIndex(where: { $0.accepts(task) }) { bins[i].take(task) } else { left.append(task) }
        }
        return left
    }

    /// Whether an empty new agent of `group` could hold `task` at all.
    static func fitsShape(_ task: PendingDemand, _ group: GroupRule) -> Bool {
        Bin(shape: group.shape, group: group.name).accepts(task)
    }

    struct Sizing: Equatable {
        /// Drained agents to take back into service, in id order.
        var reuse: [String] = []
        /// New agents to ask for.
        var newAgents = 0
        /// Tasks that still fit nowhere: the group is at its maximum size.
        var unsatisfied = 0
    }

    /// First-fit decreasing of `tasks` onto `reusable` agents, then `expected` agents of the
    /// group's shape (requested, not registered yet), then at most `newMax` new ones.
    static func size(_ tasks: [PendingDemand], group: GroupRule, reusable: [AgentSnapshot], expected: Int,
                     newMax: Int) -> Sizing {
        let shape = group.shape.resources
        func share(_ r: Resources) -> Double {
            max(r.cpu / max(shape.cpu, 1e-9), Double(r.memoryMB) / Double(max(shape.memoryMB, 1)))
        }
        let sorted = tasks.sorted { (share($0.resources), $1.id) > (share($1.resources), $0.id) }
        let reused = reusable.sorted { $0.id < $1.id }
        var bins = reused.map(Bin.init) + Array(repeating: Bin(shape: group.shape, group: group.name), count: expected)
        var used = Set<Int>()
        var sizing = Sizing()
        for task in sorted {
            if let i = bins.firstIndex(where: { $0.accepts(task) }) {
                bins[i].take(task)
                used.insert(i)
                continue
            }
            var fresh = Bin(shape: group.shape, group: group.name)
            guard sizing.newAgents < newMax, fresh.accepts(task) else {
                sizing.unsatisfied += 1
                continue
            }
            fresh.take(task)
            used.insert(bins.count)
            bins.append(fresh)
            sizing.newAgents += 1
        }
        sizing.reuse = reused.indices.filter { used.contains($0) }.map { reused[$0].id }
        return sizing
    }
}
