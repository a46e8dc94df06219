import Model

/// One group's decision in one evaluation, in this order (the first that applies acts):
///
/// 1. Drained agents that got a task anyway are taken back (undrain).
/// 2. Capacity wanted: pending tasks that fit no agent (sized by packing; no cooldown),
///    `minSize` (no cooldown) and `minIdle` (after the cooldown). Drained agents are taken
///    back first; the rest is one scale-up, capped by `maxSize`.
/// 3. Drained agents that settled and are still idle are terminated (one scale-down).
/// 4. More idle agents than `maxIdle` (after the cooldown, nothing expected, no shortfall):
///    the excess is drained, at most `scaleDownStepMax`, never below `minSize`, zones kept
///    balanced, and never an agent younger than the cooldown.
struct GroupDecision {
    let rule: GroupRule
    let settings: AutoscalerRules
    let members: [AgentSnapshot]
    let demand: [PendingDemand]
    let nowMs: Int64
    var memory: GroupMemory
    var nextId: UInt64
    private(set) var sizing = Shortfall.Sizing()
    private(set) var decision = "steady"

    init(rule: GroupRule, settings: AutoscalerRules, memory: GroupMemory, members: [AgentSnapshot],
         demand: [PendingDemand], nowMs: Int64, nextId: UInt64) {
        self.rule = rule
        self.settings = settings
        self.memory = memory
        self.members = members
        self.demand = demand
        self.nowMs = nowMs
        self.nextId = nextId
    }

    var cooldownUntilMs: Int64? {
        guard let last = memory.lastActionAtMs, last + rule.cooldownMilliseconds > nowMs else { return nil }
        return last + rule.cooldownMilliseconds
    }

    var idle: [AgentSnapshot] { members.filter(\.idle) }

    mutating func decide() -> [AutoscalerAction] {
        var actions: [AutoscalerAction] = []
        let drained = members.filter { memory.drained[$0.id] != nil }
        for agent in drained where agent.taskCount > 0 {
            actions.append(undrain(agent.id, "it got a task before it was terminated"))
        }
        // Idle drained agents: taken back for work if they still answer, else terminated.
        var reusable = drained.filter { $0.taskCount == 0 }
        let expected = memory.expectedCount
        sizing = Shortfall.size(demand, group: rule, reusable: reusable.filter(\.responsive), expected: expected,
                                newMax: max(0, rule.maxSize - members.count - expected))
        for id in sizing.reuse {
            actions.append(undrain(id, "\(demand.count) pending task(s) fit no other agent"))
        }
        reusable.removeAll { sizing.reuse.contains($0.id) }
        var inService = members.count - drained.count + sizing.reuse.count + drained.filter { $0.taskCount > 0 }.count
        var (need, why) = wanted(inService: inService, expected: expected)
        for agent in reusable.filter(\.responsive).prefix(need) {
            actions.append(undrain(agent.id, why))
            need -= 1
            inService += 1
        }
        reusable.removeAll { a in actions.contains { $0.kind == .undrain && $0.agentIds == [a.id] } }
        let up = min(sizing.newAgents + need, max(0, rule.maxSize - members.count - expected))
        if let blocked = memory.providerBlocked(nowMs: nowMs, backoffMs: settings.failureBackoffMilliseconds) {
            decision = up > 0 || !reusable.isEmpty ? "waiting: \(blocked)" : "steady; \(blocked)"
            return actions
        }
        if up > 0 {
            let reason = sizing.newAgents > 0 ? shortfallText() + (need > 0 ? "; \(why)" : "") : why
            actions.append(scaleUp(up, reason: reason, expected: expected))
            return actions
        }
        let settled = reusable.filter { memory.drained[$0.id]! + settings.drainSettleMilliseconds <= nowMs }
        if !settled.isEmpty {
            actions.append(scaleDown(settled.map(\.id)))
            return actions
        }
        if !reusable.isEmpty {
            decision = "draining \(reusable.map(\.id).joined(separator: ", ")); terminating once settled"
            return actions
        }
        actions += drains(inService: inService, expected: expected)
        return actions
    }

    /// Agents wanted for `minSize` and (after the cooldown) `minIdle`, with the reason.
    private func wanted(inService: Int, expected: Int) -> (Int, String) {
        let sizeNeed = rule.minSize - (inService + expected + sizing.newAgents)
        let idleNeed = cooldownUntilMs == nil ? rule.minIdle - (idle.count + expected) : 0
        if sizeNeed >= idleNeed && sizeNeed > 0 {
            return (sizeNeed, "\(inService) agent(s) and \(expected) expected, below minSize \(rule.minSize)")
        }
        if idleNeed > 0 { return (idleNeed, "\(idle.count) idle and \(expected) expected, below minIdle \(rule.minIdle)") }
        return (0, "")
    }

    private func shortfallText() -> String {
        let r = rule.shape.resources
        return "\(demand.count) pending task(s) fit no agent; they need \(sizing.newAgents) new agent(s) of "
            + "\(r.cpu) cpu / \(r.memoryMB) MB" + (sizing.unsatisfied > 0 ? " (\(sizing.unsatisfied) more at maxSize \(rule.maxSize))" : "")
    }

    /// Step 4: drain idle agents above `maxIdle`.
    private mutating func drains(inService: Int, expected: Int) -> [AutoscalerAction] {
        let excess = min(idle.count - rule.maxIdle, inService - rule.minSize, rule.scaleDownStepMax)
        if sizing.unsatisfied > 0 || !demand.isEmpty {
            decision = "\(demand.count) pending task(s) fit no agent" + (sizing.unsatisfied > 0 ? "; at maxSize \(rule.maxSize)" : "")
            return []
        }
        guard excess > 0 else {
            decision = "steady: \(members.count) agent(s), \(idle.count) idle (keep \(rule.minIdle)–\(rule.maxIdle))"
                + (expected > 0 ? ", \(expected) expected" : "")
            return []
        }
        if expected > 0 { decision = "\(idle.count) idle, but \(expected) agent(s) still expected"; return [] }
        if let until = cooldownUntilMs {
            decision = "\(idle.count) idle above maxIdle \(rule.maxIdle); cooling down until \(until)"
            return []
        }
        let candidates = idle.filter { $0.registeredAtMs + rule.cooldownMilliseconds <= nowMs }
        let picked = ScaleDownChoice.pick(min(excess, candidates.count), from: candidates, members: members,
                                          drained: Set(memory.drained.keys))
        guard !picked.isEmpty else { decision = "\(idle.count) idle above maxIdle \(rule.maxIdle), all younger than the cooldown"; return [] }
        let reason = "\(idle.count) idle agent(s), maxIdle \(rule.maxIdle): draining \(picked.count)"
        return picked.map { drain($0.id, reason) }
    }

    private mutating func next(_ kind: AutoscalerAction.Kind, count: Int, agents: [String], desired: Int,
                               reason: String) -> AutoscalerAction {
        defer { nextId += 1 }
        if kind != .undrain { memory.lastActionAtMs = nowMs }
        decision = "\(kind.rawValue) \(agents.isEmpty ? String(count) : agents.joined(separator: ", ")): \(reason)"
        return AutoscalerAction(id: nextId, group: rule.name, kind: kind, count: count, agentIds: agents,
                                desiredSize: desired, reason: reason, atMs: nowMs)
    }

    private mutating func undrain(_ id: String, _ reason: String) -> AutoscalerAction {
        memory.drained[id] = nil
        return next(.undrain, count: 1, agents: [id], desired: members.count, reason: reason)
    }

    private mutating func drain(_ id: String, _ reason: String) -> AutoscalerAction {
        memory.drained[id] = nowMs
        return next(.drain, count: 1, agents: [id], desired: members.count, reason: reason)
    }

    private mutating func scaleUp(_ count: Int, reason: String, expected: Int) -> AutoscalerAction {
        let action = next(.scaleUp, count: count, agents: [], desired: members.count + expected + count, reason: reason)
        memory.providerAction = action.id
        memory.expected.append(.init(actionId: action.id, remaining: count, expiresAtMs: nowMs + rule.scaleUpTimeoutMilliseconds))
        return action
    }

    private mutating func scaleDown(_ ids: [String]) -> AutoscalerAction {
        // The invariant that keeps running tasks (and so disruption budgets) safe.
        precondition(ids.allSatisfy { id in members.contains { $0.id == id && $0.taskCount == 0 && $0.draining } },
                     "a scale-down chose an agent that is not drained and idle")
        let action = next(.scaleDown, count: ids.count, agents: ids, desired: members.count - ids.count,
                          reason: "drained and still idle")
        memory.providerAction = action.id
        return action
    }

    func status() -> GroupStatus {
        var zones: [String: Int] = [:]
        for agent in members { zones[agent.zone ?? "-", default: 0] += 1 }
        let drained = members.filter { memory.drained[$0.id] != nil }.count
        let busy = members.filter { $0.schedulable && $0.taskCount > 0 }.count
        return GroupStatus(rule: rule, size: members.count, idle: idle.count, busy: busy, draining: drained,
                           other: members.count - idle.count - busy - drained, expected: memory.expectedCount, zones: zones,
                           shortfallTasks: demand.count, unsatisfiedTasks: sizing.unsatisfied, cooldownUntilMs: cooldownUntilMs,
                           providerBusy: memory.providerAction != nil,
                           decision: decision + (memory.neverArrived > 0 ? " (\(memory.neverArrived) requested agent(s) never registered)" : ""))
    }
}
