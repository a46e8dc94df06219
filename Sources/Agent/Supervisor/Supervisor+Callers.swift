import Model
import Shared

/// Who may ask the metadata endpoint: the tasks whose containers run now.
extension Supervisor {
    /// Every task of ours that has not finished and whose container Docker last showed running
    /// with an IP, sorted by task id. A task leaves the set as soon as the supervisor learns its
    /// container stopped (the `die` event's inspect) or the task finished, so a later container
    /// that reuses the IP is never taken for it. Two tasks claiming one IP (a reused address
    /// seen before the old container's exit was) are both left out until the picture is clear.
    /// A task being killed stays in during its stop grace: its shutdown may need its metadata.
    var callers: [TaskIdentity] {
        var byIP: [String: TaskIdentity] = [:]
        var ambiguous = Set<String>()
        for (taskId, record) in tasks where record.final == nil && !record.assignment.jobId.isEmpty {
            guard let containerId = record.containerId, let details = containers[containerId]?.details,
                  details.running, let ip = details.ipAddress else { continue }
            if byIP[ip] != nil { ambiguous.insert(ip) }
            let assignment = record.assignment
            byIP[ip] = TaskIdentity(taskId: taskId, jobId: assignment.jobId, index: assignment.index,
                                    attempt: assignment.attempt, containerId: containerId, ip: ip,
                                    hostname: details.hostname, image: assignment.container.image,
                                    resources: assignment.container.resources, startedAt: details.startedAt,
                                    requireTokens: assignment.container.metadata.requireTokens,
                                    macAddress: details.macAddress)
        }
        for ip in ambiguous { byIP[ip] = nil }
        return byIP.values.sorted { $0.taskId < $1.taskId }
    }

    /// Tasks whose container is starting or has started but is not yet a caller (its address is
    /// not known yet): a request from an unknown address may be one of them, worth a short wait.
    /// A container last seen exited (or being removed) is not starting, even while its task
    /// waits for its log tail before it finishes.
    var startingCallers: Int {
        tasks.values.reduce(0) { count, record in
            guard record.final == nil else { return count }
            if record.pending == .start { return count + 1 }
            guard let view = record.containerId.flatMap({ containers[$0] }), view.startAccepted else { return count }
            guard let details = view.details else { return count + 1 }
            switch Self.phase(details) {
            case .created: return count + 1
            case .running: return count + (details.ipAddress == nil ? 1 : 0)
            case .exited, .removing: return count
            }
        }
    }
}
