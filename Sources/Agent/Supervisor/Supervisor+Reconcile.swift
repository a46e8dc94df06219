import Model
import Shared

/// Drift repair: compares every task and every container with what should be, and returns the
/// operations that close the gap. Runs after every input, so it is also the timer-driven fix.
extension Supervisor {
    /// Where a container is in its life, from Docker's status.
    enum Phase: Equatable {
        case created, running, exited, removing
    }

    static func phase(_ details: ContainerDetails) -> Phase {
        switch details.status {
        case "created": .created
        case "running", "paused", "restarting": .running
        case "removing": .removing
        default: details.running ? .running : .exited
        }
    }

    mutating func reconcile(now: Timestamp) -> [Action] {
        var actions: [Action] = []
        for id in containers.keys.sorted() {
            if let action = reconcileContainer(id, now: now) { actions.append(action) }
        }
        for id in tasks.keys.sorted() {
            if let action = reconcileTask(id, now: now) { actions.append(action) }
        }
        actions += dueProbes(now: now)
        refreshReports()
        return actions
    }

    /// Inspects stale containers, ties containers to tasks (adoption), and applies the orphan rule.
    private mutating func reconcileContainer(_ id: String, now: Timestamp) -> Action? {
        guard let view = containers[id] else { return nil }
        // Adopt first, even before the inspect, so that no create races a known container.
        if let taskId = view.taskId, let record = tasks[taskId],
           record.containerId == nil && record.final == nil && record.pending != .create {
            updateTask(taskId) { $0.containerId = id }
        }
        guard view.pending == nil, view.retry.allows(now) else { return nil }
        if view.stale {
            updateContainer(id) { $0.pending = .inspect }
            return .inspect(containerId: id)
        }
        if let taskId = view.taskId, tasks[taskId]?.containerId == id {
            updateContainer(id) { $0.orphanSince = nil }
            return nil
        }
        guard answered && listed else { return nil }
        let since = view.orphanSince ?? now
        updateContainer(id) { $0.orphanSince = since }
        guard now >= since.advanced(by: configuration.orphanGrace) else { return nil }
        let phase = view.details.map(Self.phase) ?? .exited
        switch phase {
        case .running:
            updateContainer(id) { $0.pending = .stop }
            return .stop(containerId: id, graceSeconds: configuration.stopGraceSeconds)
        case .created, .exited:
            updateContainer(id) { $0.pending = .remove }
            return .remove(containerId: id)
        case .removing:
            return nil
        }
    }

    /// Moves one task toward what the master wants.
    private mutating func reconcileTask(_ id: String, now: Timestamp) -> Action? {
        guard let record = tasks[id], record.pending == nil else { return nil }
        let view = record.containerId.flatMap { containers[$0] }
        if record.final != nil {
            guard !record.owned else { return nil }  // still reported: keep the container
            guard let view else { removeTask(id); return nil }
            guard view.pending == nil, view.retry.allows(now) else { return nil }
            updateContainer(view.id) { $0.pending = .remove }
            return .remove(containerId: view.id)
        }
        guard record.owned else { removeTask(id); return nil }
        guard let view else { return missingContainer(id, record, now: now) }
        guard let details = view.details, !view.stale, view.pending == nil else { return nil }
        switch Self.phase(details) {
        case .created:
            // After a transient start failure the container keeps the daemon's error: start it
            // again (after the back-off) rather than reading that error as the task's.
            let retryingStart = record.transientStartFailures > 0 && record.transientStartFailures < Self.transientStartFailuresMax
            if !details.error.isEmpty && !retryingStart {
                finish(id, reason: .failed, exitCode: details.exitCode == 0 ? nil : details.exitCode,
                       message: "start failed: \(details.error)")
            } else if record.killRequested {
                finish(id, reason: .killed, exitCode: nil, message: "killed before it started")
            } else if record.retry.allows(now) {
                updateTask(id) { $0.pending = .start }
                return .start(taskId: id, containerId: view.id)
            }
        case .running:
            if record.killRequested || runtimeLimitReached(record, details, now: now) {
                updateContainer(view.id) { $0.pending = .stop }
                return .stop(containerId: view.id, graceSeconds: configuration.stopGraceSeconds)
            }
        case .exited:
            let outcome = Self.outcome(of: details, record: record)
            if outcome.wantsLogs && record.logTail == nil {
                updateTask(id) { $0.pending = .logs }
                return .fetchLogs(taskId: id, containerId: view.id, lines: configuration.logTailLines)
            }
            finish(id, reason: outcome.reason, exitCode: outcome.exitCode,
                   message: Self.message(outcome.message, logTail: record.logTail, bytesMax: configuration.logTailBytesMax))
        case .removing:
            break
        }
        return nil
    }

    /// An owned, unfinished task without a container: create one (pulling the image first if a
    /// create found it missing), unless it is being killed (then, once listed, it is finished).
    private mutating func missingContainer(_ id: String, _ record: TaskRecord, now: Timestamp) -> Action? {
        if record.killRequested {
            // Until the first list, a container from this agent's earlier life may still be adopted.
            guard listed else { return nil }
            finish(id, reason: .killed, exitCode: nil, message: "killed before its container was created")
            return nil
        }
        guard listed, record.retry.allows(now) else { return nil }
        updateTask(id) { $0.pending = .create }
        return .create(taskId: id, name: Self.containerName(id),
                       config: Self.createConfig(for: record.assignment, metadataURL: configuration.metadataURL,
                                                       agentId: configuration.agentId, hardening: configuration.hardening))
    }

    private func runtimeLimitReached(_ record: TaskRecord, _ details: ContainerDetails, now: Timestamp) -> Bool {
        guard let limit = record.assignment.runtimeLimitSeconds, limit > 0,
              let started = Self.dockerTime(details.startedAt) else { return false }
        return now >= started.advanced(by: .seconds(limit))
    }

    /// Records the task's outcome. Called once per task; the report then never changes.
    mutating func finish(_ id: String, reason: FinishReason, exitCode: Int?, message: String?) {
        guard let record = tasks[id], record.final == nil else { return }
        let ip = record.containerId.flatMap { containers[$0]?.details?.ipAddress }
        updateTask(id) {
            $0.final = TaskReport(taskId: id, state: .finished, containerId: $0.containerId, ip: ip,
                                  exitCode: exitCode, reason: reason, message: message)
        }
    }
}
