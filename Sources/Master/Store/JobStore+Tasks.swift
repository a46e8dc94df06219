import Model

/// Task lifecycle: creation, kills, reported transitions, retries and replacement. Every
/// function takes the job's record, already made unique by the command that started it.
extension JobStore {
    mutating func addTask(to record: JobRecord, index: Int, attempt: Int, atMs: Int64, notBeforeMs: Int64) {
        let number = record.nextTaskNumber
        record.nextTaskNumber += 1
        record.taskNumbers.append(number)
        record.tasks[number] = JobTask(id: "\(record.job.id)-\(number)", jobId: record.job.id, index: index,
                                       attempt: attempt, createdAtMs: atMs, notBeforeMs: notBeforeMs)
        pendingCount += 1
        record.unfinishedCount += 1
        record.liveCount += 1
        taskCountsByState[.accepted, default: 0] += 1
        taskCount += 1
    }

    /// Starts killing a task: one never placed finishes at once, a placed one waits for its agent.
    /// A command that kills many tasks passes `forgetting: false` and forgets finished tasks once
    /// at its end (`forgetOldFinishedTasks`), which leaves the same tasks as forgetting after each.
    mutating func beginKill(_ record: JobRecord, _ taskId: String, reason: FinishReason, _ atMs: Int64, forgetting: Bool = true) {
        guard let number = Self.splitTaskId(taskId)?.1, let task = record.tasks[number],
              !task.isFinished, task.state != .killInitiated else { return }
        if task.state == .accepted {
            finishTask(record, number, reason: reason, exitCode: nil, message: nil, atMs, forgetting: forgetting)
        } else {
            transition(record, number, to: .killInitiated, reason: reason, atMs)
        }
    }

    mutating func killTask(_ taskId: String, shrink: Bool, _ atMs: Int64) -> CommandResult {
        guard let (jobId, number) = Self.splitTaskId(taskId), records[jobId]?.tasks[number] != nil,
              let record = uniqueRecord(jobId), let task = record.tasks[number] else {
            return .rejected(.notFound(kind: "task", id: taskId))
        }
        if task.isFinished || task.state == .killInitiated { return .task(task) }
        if shrink {
            guard var service = record.job.spec.service else {
                return .rejected(.invalid(FieldError(field: "shrink", message: "only service jobs can shrink")))
            }
            guard service.capacity.desired > service.capacity.min else {
                return .rejected(.conflict(field: "shrink", message: "desired (\(service.capacity.desired)) is already at min"))
            }
            record.keepSubmittedCapacity()
            service.capacity.desired -= 1
            record.job.spec.service = service
            record.job.updatedAtMs = atMs
        }
        beginKill(record, taskId, reason: .killed, atMs)
        return .task(record.tasks[number]!)
    }

    mutating func updateTask(_ update: TaskUpdate) -> CommandResult {
        guard let (jobId, number) = Self.splitTaskId(update.taskId), records[jobId]?.tasks[number] != nil,
              let record = uniqueRecord(jobId), var task = record.tasks[number] else {
            return .rejected(.notFound(kind: "task", id: update.taskId))
        }
        guard task.state.canMove(to: update.state) || task.state == update.state else {
            return .rejected(.conflict(field: "state", message: "task \(task.id) cannot move from \(task.state.rawValue) to \(update.state.rawValue)"))
        }
        if let agentId = update.agentId, agentId != task.agentId {
            guard task.agentId == nil, task.state == .accepted, update.state != .accepted else {
                return .rejected(.conflict(field: "agentId", message: "task \(task.id) is \(task.agentId.map { "on agent \($0)" } ?? task.state.rawValue)"))
            }
            if let total = update.agentTotal {
                let load = agentLoads[agentId]?.used ?? .zero
                if let shortfall = (total - load).shortfall(for: record.job.spec.container.resources) {
                    return .rejected(.conflict(field: "agentId", message: "agent \(agentId) cannot take task \(task.id): \(shortfall)"))
                }
            }
            task.agentId = agentId
        }
        if let containerId = update.containerId { task.containerId = containerId }
        if let ip = update.ip { task.ip = ip }
        if let health = update.health { task.health = health }
        // A finished task has no container left to be healthy or not.
        if update.state == .finished { task.health = nil }
        if let message = update.message { task.message = message }
        put(task, number, in: record)
        if update.state == .finished {
            // A kill Fuller started decides the reason; the container's exit status is only detail.
            let reason = task.state == .killInitiated ? (task.reason ?? .killed) : (update.reason ?? .normal)
            finishTask(record, number, reason: reason, exitCode: update.exitCode, message: update.message, update.atMs)
        } else if update.state != task.state {
            transition(record, number, to: update.state, reason: update.reason, update.atMs)
        }
        return .task(record.tasks[number]!)
    }

    mutating func transition(_ record: JobRecord, _ number: Int, to state: TaskState, reason: FinishReason?, _ atMs: Int64) {
        guard var task = record.tasks[number] else { return }
        taskCountsByState[task.state, default: 0] -= 1
        taskCountsByState[state, default: 0] += 1
        task.state = state
        if reason != nil { task.reason = reason }
        task.updatedAtMs = atMs
        task.history.append(TaskStatusEntry(state: state, reason: reason, atMs: atMs))
        if task.history.count > JobTask.historyMax { task.history.removeFirst(task.history.count - JobTask.historyMax) }
        put(task, number, in: record)
    }

    /// Writes a task back, keeping the per-agent indexes and the pending count in step with it.
    mutating func put(_ task: JobTask, _ number: Int, in record: JobRecord) {
        let old = record.tasks[number]
        record.tasks[number] = task
        if (old.map { !$0.isFinished } ?? false) != !task.isFinished { record.unfinishedCount += task.isFinished ? -1 : 1 }
        if (old.map(JobRecord.isLive) ?? false) != JobRecord.isLive(task) { record.liveCount += JobRecord.isLive(task) ? 1 : -1 }
        let wasPending = old?.state == .accepted, isPending = task.state == .accepted
        if wasPending != isPending { pendingCount += isPending ? 1 : -1 }
        let oldAgent = old.flatMap { $0.isFinished ? nil : $0.agentId }
        let newAgent = task.isFinished ? nil : task.agentId
        let oldUnsettled = old?.state == .started ? nil : oldAgent, newUnsettled = task.state == .started ? nil : newAgent
        if oldUnsettled != newUnsettled {
            if let a = oldUnsettled {
                unsettledByAgent[a]?.remove(task.id)
                if unsettledByAgent[a]?.isEmpty == true { unsettledByAgent[a] = nil }
            }
            if let a = newUnsettled { unsettledByAgent[a, default: []].insert(task.id) }
        }
        guard oldAgent != newAgent else { return }
        let spec = record.job.spec
        let exclusive = spec.constraints.hard["exclusiveHost"] == "true"
        if let oldAgent {
            tasksByAgent[oldAgent]?.remove(task.id)
            if tasksByAgent[oldAgent]?.isEmpty == true { tasksByAgent[oldAgent] = nil }
            agentLoads[oldAgent, default: AgentLoad()].remove(spec.container.resources, exclusive: exclusive)
            if agentLoads[oldAgent]?.taskCount == 0 { agentLoads[oldAgent] = nil }
            groupUsage[spec.capacityGroup] = (groupUsage[spec.capacityGroup] ?? .zero) - spec.container.resources
        }
        if let newAgent {
            tasksByAgent[newAgent, default: []].insert(task.id)
            agentLoads[newAgent, default: AgentLoad()].add(spec.container.resources, exclusive: exclusive)
            groupUsage[spec.capacityGroup] = (groupUsage[spec.capacityGroup] ?? .zero) + spec.container.resources
        }
    }

    /// Ends a task, then replaces it if the job's rules say so and ends the job if it is done.
    mutating func finishTask(_ record: JobRecord, _ number: Int, reason: FinishReason, exitCode: Int?, message: String?,
                             _ atMs: Int64, forgetting: Bool = true) {
        transition(record, number, to: .finished, reason: reason, atMs)
        guard var task = record.tasks[number] else { return }
        task.reason = reason
        task.exitCode = exitCode
        if let message { task.message = message }
        put(task, number, in: record)
        replaceIfNeeded(record, task, atMs)
        if forgetting { forgetOldFinishedTasks(record) }
        finishJobIfDone(record, atMs)
    }

    private mutating func replaceIfNeeded(_ record: JobRecord, _ task: JobTask, _ atMs: Int64) {
        let job = record.job
        guard job.state == .accepted, let reason = task.reason else { return }
        let policy = job.spec.retryPolicy
        switch job.spec.type {
        case .batch:
            guard reason.isRetryable, task.attempt < policy.retries else { return }
        case .service:
            guard record.liveCount < (job.spec.service?.capacity.desired ?? 0) else { return }
            if reason.isRetryable && task.attempt >= policy.retries { return }
        }
        let attempt = task.attempt + 1
        let delay = reason.isRetryable ? Int64(policy.delayMs(beforeAttempt: attempt)) : 0
        addTask(to: record, index: task.index, attempt: attempt, atMs: atMs, notBeforeMs: delay > 0 ? atMs + delay : 0)
    }

    /// Keeps at most `finishedTasksRetainedPerJob` finished tasks per job, dropping the oldest.
    mutating func forgetOldFinishedTasks(_ record: JobRecord) {
        var finishedCount = 0
        for task in record.tasks.values where task.isFinished { finishedCount += 1 }
        var excess = finishedCount - limits.finishedTasksRetainedPerJob
        guard excess > 0 else { return }
        var dropped = Set<Int>()
        for number in record.taskNumbers where excess > 0 {
            guard let task = record.tasks[number], task.isFinished else { continue }
            record.tasks[number] = nil
            dropped.insert(number)
            taskCountsByState[.finished, default: 0] -= 1
            taskCount -= 1
            excess -= 1
        }
        record.taskNumbers.removeAll { dropped.contains($0) }
    }
}
