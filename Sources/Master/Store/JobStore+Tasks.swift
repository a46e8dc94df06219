import Model

/// Task lifecycle: creation, kills, reported transitions, retries and replacement.
extension JobStore {
    mutating func addTask(to job: inout Job, index: Int, attempt: Int, atMs: Int64, notBeforeMs: Int64) {
        let id = "\(job.id)-\(job.nextTaskNumber)"
        job.nextTaskNumber += 1
        job.taskIds.append(id)
        setTask(JobTask(id: id, jobId: job.id, index: index, attempt: attempt, createdAtMs: atMs, notBeforeMs: notBeforeMs))
        taskCountsByStateAdd(.accepted, 1)
    }

    /// Starts killing a task: one never placed finishes at once, a placed one waits for its agent.
    mutating func beginKill(_ taskId: String, reason: FinishReason, _ atMs: Int64) {
        guard let task = tasks[taskId], !task.isFinished, task.state != .killInitiated else { return }
        if task.state == .accepted {
            finishTask(taskId, reason: reason, exitCode: nil, message: nil, atMs)
        } else {
            transition(taskId, to: .killInitiated, reason: reason, atMs)
        }
    }

    mutating func killTask(_ taskId: String, shrink: Bool, _ atMs: Int64) -> CommandResult {
        guard let task = tasks[taskId], var job = jobs[task.jobId] else { return .rejected(.notFound(kind: "task", id: taskId)) }
        if task.isFinished || task.state == .killInitiated { return .task(task) }
        if shrink {
            guard var service = job.spec.service else {
                return .rejected(.invalid(FieldError(field: "shrink", message: "only service jobs can shrink")))
            }
            guard service.capacity.desired > service.capacity.min else {
                return .rejected(.conflict(field: "shrink", message: "desired (\(service.capacity.desired)) is already at min"))
            }
            service.capacity.desired -= 1
            job.spec.service = service
            job.updatedAtMs = atMs
            jobs[job.id] = job
        }
        beginKill(taskId, reason: .killed, atMs)
        return .task(tasks[taskId]!)
    }

    mutating func updateTask(_ update: TaskUpdate) -> CommandResult {
        guard var task = tasks[update.taskId] else { return .rejected(.notFound(kind: "task", id: update.taskId)) }
        guard task.state.canMove(to: update.state) || task.state == update.state else {
            return .rejected(.conflict(field: "state", message: "task \(task.id) cannot move from \(task.state.rawValue) to \(update.state.rawValue)"))
        }
        if let agentId = update.agentId { task.agentId = agentId }
        if let containerId = update.containerId { task.containerId = containerId }
        if let ip = update.ip { task.ip = ip }
        if let message = update.message { task.message = message }
        setTask(task)
        if update.state == .finished {
            // A kill Fuller started decides the reason; the container's exit status is only detail.
            let reason = task.state == .killInitiated ? (task.reason ?? .killed) : (update.reason ?? .normal)
            finishTask(task.id, reason: reason, exitCode: update.exitCode, message: update.message, update.atMs)
        } else if update.state != task.state {
            transition(task.id, to: update.state, reason: update.reason, update.atMs)
        }
        return .task(tasks[task.id]!)
    }

    mutating func transition(_ taskId: String, to state: TaskState, reason: FinishReason?, _ atMs: Int64) {
        guard var task = tasks[taskId] else { return }
        taskCountsByStateAdd(task.state, -1)
        taskCountsByStateAdd(state, 1)
        task.state = state
        if reason != nil { task.reason = reason }
        task.updatedAtMs = atMs
        task.history.append(TaskStatusEntry(state: state, reason: reason, atMs: atMs))
        if task.history.count > JobTask.historyMax { task.history.removeFirst(task.history.count - JobTask.historyMax) }
        setTask(task)
    }

    /// Ends a task, then replaces it if the job's rules say so and ends the job if it is done.
    mutating func finishTask(_ taskId: String, reason: FinishReason, exitCode: Int?, message: String?, _ atMs: Int64) {
        transition(taskId, to: .finished, reason: reason, atMs)
        guard var task = tasks[taskId] else { return }
        task.reason = reason
        task.exitCode = exitCode
        if let message { task.message = message }
        setTask(task)
        replaceIfNeeded(task, atMs)
        forgetOldFinishedTasks(of: task.jobId)
        finishJobIfDone(task.jobId, atMs)
    }

    private mutating func replaceIfNeeded(_ task: JobTask, _ atMs: Int64) {
        guard var job = jobs[task.jobId], job.state == .accepted, let reason = task.reason else { return }
        let policy = job.spec.retryPolicy
        switch job.spec.type {
        case .batch:
            guard reason.isRetryable, task.attempt < policy.retries else { return }
        case .service:
            guard liveTasks(of: job).count < (job.spec.service?.capacity.desired ?? 0) else { return }
            if reason.isRetryable && task.attempt >= policy.retries { return }
        }
        let attempt = task.attempt + 1
        let delay = reason.isRetryable ? Int64(policy.delayMs(beforeAttempt: attempt)) : 0
        addTask(to: &job, index: task.index, attempt: attempt, atMs: atMs, notBeforeMs: delay > 0 ? atMs + delay : 0)
        jobs[job.id] = job
    }

    /// Keeps at most `finishedTasksRetainedPerJob` finished tasks per job, dropping the oldest.
    private mutating func forgetOldFinishedTasks(of jobId: String) {
        guard var job = jobs[jobId] else { return }
        let finished = job.taskIds.filter { tasks[$0]?.isFinished == true }
        let excess = finished.count - limits.finishedTasksRetainedPerJob
        guard excess > 0 else { return }
        let drop = Set(finished.prefix(excess))
        for id in drop { removeTask(id) }
        job.taskIds.removeAll { drop.contains($0) }
        jobs[jobId] = job
    }

    mutating func removeTask(_ taskId: String) {
        guard let task = tasks.removeValue(forKey: taskId) else { return }
        taskCountsByStateAdd(task.state, -1)
    }
}
