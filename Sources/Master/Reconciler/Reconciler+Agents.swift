import JobStore
import Model

/// Kills on the reconciler's behalf: tasks a connected agent runs although the store does not
/// place them there (finished while the agent was away, or unknown), and containers of tasks
/// the store has finished. Kills go by task id: an agent that does not track the task adopts
/// the container labelled with it, stops it and reports the task finished (with no such
/// container it just reports it finished), and the kill is dropped once that report arrives.
///
/// An unknown container is matched to its task through the container ids the store recorded.
/// One the store never learned (the agent died between creating it and reporting it) cannot be
/// matched by id, so its agent is sent a kill for each task the reconciler finished on it
/// (lost or stuck) before a container id was known, once each; whatever still matches nothing is left to the agent's
/// own orphan rule (`--orphan-grace`).
extension Reconciler {
    /// A connected agent's reports against the tasks placed on it: unhealthy tasks mark their
    /// jobs for `checkHealth`; where the digests differ, tasks it no longer reports (missing),
    /// tasks it should not run (kills) and kills it confirmed.
    func checkReports(_ agentId: String, _ observation: AgentObservation, placed: Set<String>, _ pass: inout Pass) {
        guard let reports = observation.reports else { return }
        pass.containers += observation.unknownContainers.prefix(configuration.killsPerAgentMax).map { (agentId, $0) }
        if observation.healthNoted {
            for report in reports.values where report.health == "unhealthy" && placed.contains(report.taskId) {
                if let task = pass.store.task(report.taskId) { pass.unhealthyJobs.insert(task.jobId) }
            }
        }
        var digest = TaskSetDigest()
        for id in placed { digest.add(id) }
        guard digest != observation.digest else { return }
        for id in placed where reports[id] == nil && !pass.acted.contains(id) {
            guard let task = pass.store.task(id), [.startInitiated, .started, .disconnected].contains(task.state) else { continue }
            missing(task, agentId, &pass)
        }
        for report in reports.values where !placed.contains(report.taskId) {
            if report.state == .finished {
                if kills[agentId]?.contains(report.taskId) == true { pass.confirmedNow[agentId, default: []].insert(report.taskId) }
                continue
            }
            guard let why = staleReason(report.taskId, on: agentId, pass) else { continue }
            pass.notes[agentId, default: [:]][report.taskId] = ReconcileAction(kind: .killStaleTask, agentId: agentId,
                                                                               taskId: report.taskId, reason: why)
        }
    }

    /// Every agent's kills: the stale tasks found, then those for unknown containers. A kill
    /// is an action (logged, counted) only in the pass it starts.
    mutating func collectKills(_ pass: inout Pass) -> [String: Set<String>] {
        unknownContainerKills(&pass)
        var result: [String: Set<String>] = [:]
        for (agentId, byTask) in pass.notes {
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

    /// A task the reconciler finished without its agent's word (lost, or stuck): only such a
    /// task can have left a container its agent no longer knows.
    static func finishedByMaster(_ task: JobTask) -> Bool {
        task.reason == .lost || task.reason == .stuckInState || task.message?.hasPrefix("stuck in ") == true
    }

    /// Kills for unknown containers: by recorded container id, else by the tasks that finished
    /// on the agent with no container id known (each sent until the agent confirms it once).
    private mutating func unknownContainerKills(_ pass: inout Pass) {
        let containers = pass.containers
        var noted = Set<String>()
        var next = confirmed.merging(pass.confirmedNow) { $0.union($1) }.filter { pass.input.agents[$0.key] != nil }
        defer { unmatchedNoted = noted; confirmed = next }
        guard !containers.isEmpty else { return }
        let wanted = Set(containers.map(\.containerId)), agents = Set(containers.map(\.agentId))
        var owners: [String: JobTask] = [:]
        var withoutContainer: [String: [JobTask]] = [:]
        pass.input.store.forEachTask { task in
            if let id = task.containerId {
                if wanted.contains(id) { owners[id] = task }
            } else if task.isFinished, let agentId = task.agentId, agents.contains(agentId), Self.finishedByMaster(task) {
                withoutContainer[agentId, default: []].append(task)
            }
        }
        var unmatched: [String: [String]] = [:]
        for (agentId, containerId) in containers {
            guard let task = owners[containerId], task.agentId == agentId else {
                unmatched[agentId, default: []].append(containerId)
                continue
            }
            guard task.isFinished else { continue }  // live here: the agent is adopting it
            pass.notes[agentId, default: [:]][task.id] = ReconcileAction(
                kind: .killUnknownContainer, agentId: agentId, taskId: task.id, containerId: containerId,
                reason: "container \(containerId) belongs to task \(task.id), Finished/\(task.reason?.rawValue ?? "")")
        }
        for (agentId, ids) in unmatched {
            let done = next[agentId] ?? []
            var kept = Set<String>()
            defer { next[agentId] = kept }
            for task in withoutContainer[agentId] ?? [] {
                guard !done.contains(task.id) else { kept.insert(task.id); continue }
                pass.notes[agentId, default: [:]][task.id] = ReconcileAction(
                    kind: .killUnknownContainer, agentId: agentId, taskId: task.id,
                    reason: "\(ids.count) unknown container(s); task \(task.id) finished here before its container was known")
            }
            for id in ids where !unmatchedNoted.contains(id) {
                pass.actions.append(ReconcileAction(kind: .unmatchedContainer, agentId: agentId, taskId: nil, containerId: id,
                                                    reason: "no task recorded for container \(id); killing by label, else the agent's orphan rule removes it"))
            }
            noted.formUnion(ids)
        }
    }
}
