import Model

/// The autoscaler's pure core (Fenzo-style rules per agent group; docs/autoscaler.md).
///
/// The shell calls `plan` on a timer (leader only) with the agents and pending tasks as they
/// are, performs the actions it returns (drains in the registry, scale-ups and scale-downs
/// through the provider) and reports each outcome through `finished`. No clock, no I/O:
/// time comes in with the input.
///
/// A scale-down goes through three states, one evaluation apart at least:
/// ```
/// idle agent ──drain──► drained (no new tasks) ──settled, still idle──► scaleDown ──ok──► retired
///                           │ got a task, or pending work fits it
///                           └──undrain──► back in service
/// ```
/// So an agent running a task is never terminated, and disruption budgets are never spent.
public struct Autoscaler: Sendable {
    public let rules: AutoscalerRules
    var memory: [String: GroupMemory] = [:]
    var history: [ActionRecord] = []
    var nextActionId: UInt64 = 1
    var lastStatus: AutoscalerStatus

    /// How long a terminated agent's id is ignored if it shows up again (it may still be
    /// shutting down and register once more).
    public static let retiredMemoryMilliseconds: Int64 = 600_000

    public init(rules: AutoscalerRules) {
        self.rules = rules
        for group in rules.groups { memory[group.name] = GroupMemory() }
        lastStatus = .empty
    }

    /// One evaluation: the actions to take now, in order.
    public mutating func plan(_ input: AutoscalerInput) -> [AutoscalerAction] {
        let now = input.nowMs
        let retired = memory.values.reduce(into: Set<String>()) { $0.formUnion($1.retired.keys) }
        let agents = input.agents.filter { !retired.contains($0.id) }
        let unfit = Shortfall.unplaceable(input.pending, agents: agents)
        var demand: [String: [PendingDemand]] = [:]
        var unmatched = 0
        for task in unfit {
            if let group = assign(task) { demand[group, default: []].append(task) } else { unmatched += 1 }
        }
        var actions: [AutoscalerAction] = []
        var statuses: [GroupStatus] = []
        for rule in rules.groups {
            let members = agents.filter { $0.group == rule.name }
            var group = memory[rule.name]!
            group.forget(nowMs: now, members: members)
            var decision = GroupDecision(rule: rule, settings: rules, memory: group, members: members,
                                         demand: demand[rule.name] ?? [], nowMs: now, nextId: nextActionId)
            let planned = decision.decide()
            group = decision.memory
            nextActionId = decision.nextId
            for action in planned {
                actions.append(action)
                record(ActionRecord(action: action, result: .pending, attempts: 0, agentIds: action.agentIds))
            }
            memory[rule.name] = group
            statuses.append(decision.status())
        }
        lastStatus = AutoscalerStatus(evaluatedAtMs: now, groups: statuses, unmatchedTasks: unmatched, actions: [])
        return actions
    }

    /// The outcome of an action `plan` returned.
    public mutating func finished(_ id: UInt64, _ outcome: ActionOutcome, nowMs: Int64) {
        guard let index = history.lastIndex(where: { $0.action.id == id }) else { return }
        var entry = history[index]
        let action = entry.action
        switch outcome {
        case let .succeeded(agentIds, message, attempts):
            entry.result = .succeeded
            entry.message = message
            entry.attempts = attempts
            if action.kind == .scaleUp { entry.agentIds = agentIds }
        case let .failed(message, attempts):
            entry.result = .failed
            entry.message = message
            entry.attempts = attempts
        }
        entry.finishedAtMs = nowMs
        history[index] = entry
        memory[action.group]?.finished(action, succeeded: entry.result == .succeeded, nowMs: nowMs)
    }

    public var status: AutoscalerStatus {
        var status = lastStatus
        status.actions = history
        return status
    }

    /// The group a task that fits no agent counts against: its `machineGroup` constraint, else
    /// the first group whose agent shape can hold it.
    func assign(_ task: PendingDemand) -> String? {
        if let name = task.hardConstraints["machineGroup"] {
            guard let rule = rules.group(name), Shortfall.fitsShape(task, rule) else { return nil }
            return name
        }
        return rules.groups.first { Shortfall.fitsShape(task, $0) }?.name
    }

    mutating func record(_ entry: ActionRecord) {
        history.append(entry)
        if history.count > rules.historyMax { history.removeFirst(history.count - rules.historyMax) }
    }
}
