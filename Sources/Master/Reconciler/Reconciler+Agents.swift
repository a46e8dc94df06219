import JobStore
import Model

/// Kills on the reconciler's behalf: tasks a connected agent runs although the store does not
/// place them there (finished while the agent was away, or unknown), and containers of tasks
/// the store has finished. Kills go by task id: an agent that does not track the task adopts
/// its labelled container, stops it and reports the task finished, and the kill is dropped
/// once that report arrives (the agent then removes the container).
extension Reconciler {
    mutating func agentKills(_ pass: inout Pass) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        var notes: [String: [String: ReconcileAction]] = [:]
        var containers: [(agentId: String, containerId: String)] = []
        for (agentId, observation) in pass.input.agents where pass.silenceMs(agentId) <= disconnectedMs {
            guard let reports = observation.reports else { continue }
            containers += observation.unknownContainers.prefix(configuration.killsPerAgentMax).map { (agentId, $0) }
            guard pass.matched[agentId, default: 0] != reports.count else { continue }
            for report in reports.values where report.state != .finished {
                guard let why = staleReason(report.taskId, on: agentId, pass) else { continue }
                notes[agentId, default: [:]][report.taskId] = ReconcileAction(kind: .killStaleTask, agentId: agentId,
                                                                              taskId: report.taskId, reason: why)
            }
        }
        unknownContainerKills(containers, &notes, &pass)
        for (agentId, byTask) in notes {
            let ids = byTask.keys.sorted().prefix(configuration.killsPerAgentMax)
            result[agentId] = Set(ids)
            for id in ids where kills[agentId]?.contains(id) != true { pass.actions.append(byTask[id]!) }
        }
        return result
    }

    /// Why an agent must not run a task it reports, or nil if it may.
    private func staleReason(_ taskId: String, on agentId: String, _ pass: Pass) -> String? {
        guard let task = pass.input.store.task(taskId) else {
            // A new leader may not have applied everything committed yet: wait one grace.
            return pass.now - pass.startedAtMs >= graceMs ? "the store has no task \(taskId)" : nil
        }
        if task.isFinished { return "the store has it Finished/\(task.reason?.rawValue ?? "")" }
        if task.agentId != agentId { return "the store places it on \(task.agentId ?? "no agent")" }
        return nil
    }

    /// Maps unknown containers to tasks through the container ids the store recorded.
    private mutating func unknownContainerKills(_ containers: [(agentId: String, containerId: String)],
                                       _ notes: inout [String: [String: ReconcileAction]], _ pass: inout Pass) {
        var noted = Set<String>()
        defer { unmatchedNoted = noted }
        guard !containers.isEmpty else { return }
        let wanted = Set(containers.map(\.containerId))
        var owners: [String: JobTask] = [:]
        pass.input.store.forEachTask { task in
            if let id = task.containerId, wanted.contains(id) { owners[id] = task }
        }
        for (agentId, containerId) in containers {
            if let task = owners[containerId], task.agentId == agentId {
                guard task.isFinished, notes[agentId]?[task.id] == nil else { continue }  // live: the agent adopts it
                notes[agentId, default: [:]][task.id] = ReconcileAction(
                    kind: .killUnknownContainer, agentId: agentId, taskId: task.id, containerId: containerId,
                    reason: "container \(containerId) belongs to task \(task.id), Finished/\(task.reason?.rawValue ?? "")")
                continue
            }
            noted.insert(containerId)
            guard !unmatchedNoted.contains(containerId) else { continue }
            pass.actions.append(ReconcileAction(kind: .unmatchedContainer, agentId: agentId, taskId: nil, containerId: containerId,
                                                reason: "no task known for container \(containerId); the agent's orphan rule removes it"))
        }
    }
}
