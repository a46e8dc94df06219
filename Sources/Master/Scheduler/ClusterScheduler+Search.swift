import Model

/// The search for one task's agent: class rules, then each class's grid in fitness order.
extension ClusterScheduler {
    /// The best agent for `task`, or nil with `reasons` counting every agent that refused it.
    func search(_ task: PendingTask, _ rules: PlacementRules, _ reasons: inout [String: Int]) -> Int32? {
        var best: (agent: Int32, score: Double)?
        let job = jobs[task.jobId]
        for c in index.classes.indices {
            let agentClass = index.classes[c]
            guard agentClass.count > 0 else { continue }
            if let refusal = classRefusal(agentClass, rules, job) {
                reasons[refusal, default: 0] += agentClass.count
                continue
            }
            let classSoft = classSoftScore(agentClass, rules, job)
            guard let found = searchClass(agentClass, task, rules, job, classSoft, &reasons) else { continue }
            if best == nil || found.score > best!.score { best = found }
            if let enough = configuration.goodEnough, found.score >= enough { break }
        }
        return best?.agent
    }

    /// The first hard class rule the class breaks, by name.
    private func classRefusal(_ agentClass: AgentIndex.AgentClass, _ rules: PlacementRules, _ job: JobPlacementState?) -> String? {
        for rule in rules.hard where !rule.isAgentLevel {
            if classSatisfaction(rule, agentClass, job) <= 0 { return rule.name }
        }
        return nil
    }

    /// How well a class meets a class rule, 0...1; 0 breaks it. zoneBalance: the part of the
    /// zone's even share of the job still open, so a full zone breaks it and emptier zones rank
    /// higher as a soft rule.
    private func classSatisfaction(_ rule: PlacementRules.Rule, _ agentClass: AgentIndex.AgentClass, _ job: JobPlacementState?) -> Double {
        switch rule {
        case .classAttribute(.zone, let value): return agentClass.zone == value ? 1 : 0
        case .classAttribute(.machineType, let value): return agentClass.machineType == value ? 1 : 0
        case .classAttribute(.machineGroup, let value): return agentClass.machineGroup == value ? 1 : 0
        case .zoneBalance:
            guard let job, job.zoneLimit > 0 else { return 1 }
            let count = job.zoneCounts[agentClass.zoneId]
            return count >= job.zoneLimit ? 0 : 1 - Double(count) / Double(job.zoneLimit)
        case .uniqueHost, .exclusiveHost, .hostAttribute: return 1
        }
    }

    /// The sum of the class-level soft rules' satisfactions (divided by the soft count later).
    private func classSoftScore(_ agentClass: AgentIndex.AgentClass, _ rules: PlacementRules, _ job: JobPlacementState?) -> Double {
        var sum = 0.0
        for rule in rules.soft where !rule.isAgentLevel { sum += classSatisfaction(rule, agentClass, job) }
        return sum
    }

    /// Visits the class's occupied cells fittest first. Without per-agent soft rules the first agent that
    /// fits is the class's answer; with them, up to `softCandidatesMax` fitting agents are scored.
    private func searchClass(_ agentClass: AgentIndex.AgentClass, _ task: PendingTask, _ rules: PlacementRules,
                             _ job: JobPlacementState?, _ classSoft: Double,
                             _ reasons: inout [String: Int]) -> (agent: Int32, score: Double)? {
        let r = task.resources, total = agentClass.total
        let cpuLevel = AgentIndex.requiredLevel(r.cpu, of: total.cpu)
        let memoryLevel = AgentIndex.requiredLevel(Double(r.memoryMB), of: Double(total.memoryMB))
        let side = AgentIndex.side
        var best: (agent: Int32, score: Double)?
        var candidates = 0
        for cell in agentClass.occupied {
            let c = Int(cell)
            guard c / side >= cpuLevel, c % side >= memoryLevel else { continue }
            for agent in agentClass.cells[c] {
                if let refusal = agentRefusal(agent, r, rules, job) {
                    reasons[refusal, default: 0] += 1
                    continue
                }
                let score = self.score(agent, total, task, rules, job, classSoft)
                if best == nil || score > best!.score { best = (agent, score) }
                candidates += 1
                if !rules.hasAgentSoft || candidates >= configuration.softCandidatesMax || score >= 1 { return best }
            }
        }
        if best == nil { countShortfalls(agentClass, cpuLevel, memoryLevel, &reasons) }
        return best
    }

    /// The first reason one agent cannot take the task: resources, then agent rules.
    private func agentRefusal(_ agent: Int32, _ r: Resources, _ rules: PlacementRules, _ job: JobPlacementState?) -> String? {
        let a = Int(agent)
        if let shortfall = index.free[a].shortfall(for: r) { return shortfall }
        if index.exclusive[a] { return "exclusiveHost" }
        for rule in rules.hard where rule.isAgentLevel {
            if agentSatisfaction(rule, agent, job) <= 0 { return rule.name }
        }
        return nil
    }

    private func agentSatisfaction(_ rule: PlacementRules.Rule, _ agent: Int32, _ job: JobPlacementState?) -> Double {
        switch rule {
        case .uniqueHost: return job?.agents.contains(agent) == true ? 0 : 1
        case .exclusiveHost: return index.taskCount[Int(agent)] == 0 ? 1 : 0
        case .hostAttribute(let key, let value): return index.attributes[Int(agent)][key] == value ? 1 : 0
        case .classAttribute, .zoneBalance: return 1
        }
    }

    /// Fitness, blended with the soft rules' mean satisfaction when the job has soft rules.
    private func score(_ agent: Int32, _ total: Resources, _ task: PendingTask, _ rules: PlacementRules,
                       _ job: JobPlacementState?, _ classSoft: Double) -> Double {
        let fit = configuration.fitness.score(total: total, free: index.free[Int(agent)], request: task.resources)
        guard !rules.soft.isEmpty else { return fit }
        var soft = classSoft
        for rule in rules.soft where rule.isAgentLevel { soft += agentSatisfaction(rule, agent, job) }
        let w = configuration.softConstraintWeight
        return (1 - w) * fit + w * soft / Double(rules.soft.count)
    }

    /// Agents in cells below the task's levels were never visited: count them by the resource
    /// they lack (cpu first, as `Resources.shortfall` does).
    private func countShortfalls(_ agentClass: AgentIndex.AgentClass, _ cpuLevel: Int, _ memoryLevel: Int,
                                 _ reasons: inout [String: Int]) {
        let side = AgentIndex.side
        for cell in agentClass.occupied {
            let c = Int(cell), n = agentClass.cells[c].count
            if c / side < cpuLevel {
                reasons["insufficient cpu", default: 0] += n
            } else if c % side < memoryLevel {
                reasons["insufficient memory", default: 0] += n
            }
        }
    }
}
