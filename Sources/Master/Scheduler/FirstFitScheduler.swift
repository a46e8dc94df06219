import Model

/// The simplest correct scheduler: each task goes to the first schedulable agent (in id order)
/// with enough free cpu, memory, disk and network. It stands in until the Fenzo-class
/// scheduler lands behind the same `Scheduler` interface.
public struct FirstFitScheduler: Scheduler {
    public init() {}

    public func schedule(_ input: SchedulingInput) -> PlacementPlan {
        var agents = input.agents.sorted { $0.id < $1.id }
        var plan = PlacementPlan()
        for task in input.pending {
            var rejections: [String: Int] = [:]
            var placed = false
            for i in agents.indices {
                guard agents[i].schedulable else { rejections["agent not schedulable", default: 0] += 1; continue }
                if let reason = agents[i].free.shortfall(for: task.resources) {
                    rejections[reason, default: 0] += 1
                    continue
                }
                agents[i].used = agents[i].used + task.resources
                plan.placements.append(Placement(taskId: task.id, agentId: agents[i].id))
                placed = true
                break
            }
            if !placed { plan.unplaced[task.id] = agents.isEmpty ? ["no agents": 1] : rejections }
        }
        return plan
    }
}
