import Model

/// The job store: a deterministic state machine over `Command`s.
///
/// A pure value: no I/O, no clock, no randomness. The shell around it proposes a command to the
/// log, and only once the log says the entry is durable (and, with Raft, committed) does it call
/// `apply`, in log order, on every replica. Equal logs therefore give equal stores.
///
/// ```
/// job:  Accepted ──kill──► KillInitiated ──all tasks finished──► Finished
///          └────────────── all tasks finished ────────────────────▲
/// ```
public struct JobStore: Sendable {
    public internal(set) var jobs: [String: Job] = [:]
    public internal(set) var tasks: [String: JobTask] = [:]
    /// Job ids in creation order; entries of forgotten jobs are skipped and compacted lazily.
    var jobOrder: [String] = []
    var idempotencyKeys: [String: String] = [:]
    /// Finished job ids, oldest first, for retention (`finishedJobsHead` marks the live start).
    var finishedJobs: [String] = []
    var finishedJobsHead = 0
    public internal(set) var nextSequence: UInt64 = 1
    /// The log index of the last applied command (0 = none).
    public internal(set) var appliedIndex: UInt64 = 0
    public internal(set) var jobCountsByState: [JobState: Int] = [:]
    public internal(set) var taskCountsByState: [TaskState: Int] = [:]
    public let limits: StoreLimits

    public init(limits: StoreLimits = StoreLimits()) { self.limits = limits }

    public var activeJobCount: Int { jobs.count - (finishedJobs.count - finishedJobsHead) }

    /// Applies the command at log position `index`, which must follow the last one applied.
    public mutating func apply(_ command: Command, index: UInt64) -> CommandResult {
        precondition(index == appliedIndex + 1 || appliedIndex == 0, "log index \(index) after \(appliedIndex)")
        appliedIndex = index
        switch command {
        case let .createJob(jobId, spec, key, atMs): return createJob(jobId, spec, key, atMs)
        case let .killJob(jobId, atMs): return killJob(jobId, atMs)
        case let .setCapacity(jobId, capacity, atMs): return setCapacity(jobId, capacity, atMs)
        case let .killTask(taskId, shrink, atMs): return killTask(taskId, shrink: shrink, atMs)
        case let .updateTask(update): return updateTask(update)
        }
    }

    // MARK: Jobs

    private mutating func createJob(_ jobId: String, _ spec: JobSpec, _ key: String?, _ atMs: Int64) -> CommandResult {
        if let key, let existingId = idempotencyKeys[key], let existing = jobs[existingId] {
            guard existing.spec == spec else {
                return .rejected(.conflict(field: "Idempotency-Key", message: "key \"\(key)\" was used for a different job (\(existingId))"))
            }
            return .job(existing, replayed: true)
        }
        do { try spec.validate(limits: limits.job) } catch { return .rejected(.invalid(error)) }
        guard jobs[jobId] == nil else { return .rejected(.conflict(field: "id", message: "job \(jobId) already exists")) }
        guard activeJobCount < limits.activeJobsMax else {
            return .rejected(.limitExceeded(field: nil, message: "the store holds \(limits.activeJobsMax) active jobs, its limit"))
        }
        var job = Job(id: jobId, spec: spec, sequence: nextSequence, createdAtMs: atMs, idempotencyKey: key)
        nextSequence += 1
        jobs[jobId] = job
        jobOrder.append(jobId)
        jobCountsByState[.accepted, default: 0] += 1
        if let key { idempotencyKeys[key] = jobId }
        let count = spec.batch?.size ?? spec.service?.capacity.desired ?? 0
        for i in 0..<count { addTask(to: &job, index: i, attempt: 0, atMs: atMs, notBeforeMs: 0) }
        jobs[jobId] = job
        finishJobIfDone(jobId, atMs)
        return .job(jobs[jobId]!, replayed: false)
    }

    private mutating func killJob(_ jobId: String, _ atMs: Int64) -> CommandResult {
        guard var job = jobs[jobId] else { return .rejected(.notFound(kind: "job", id: jobId)) }
        guard job.state == .accepted else { return .job(job, replayed: false) }
        setJobState(&job, .killInitiated, atMs)
        jobs[jobId] = job
        for taskId in job.taskIds where tasks[taskId]?.isFinished == false {
            beginKill(taskId, reason: .killed, atMs)
        }
        finishJobIfDone(jobId, atMs)
        return .job(jobs[jobId]!, replayed: false)
    }

    private mutating func setCapacity(_ jobId: String, _ capacity: Capacity, _ atMs: Int64) -> CommandResult {
        guard var job = jobs[jobId] else { return .rejected(.notFound(kind: "job", id: jobId)) }
        guard var service = job.spec.service else {
            return .rejected(.invalid(FieldError(field: "capacity", message: "only service jobs have a capacity")))
        }
        guard job.state == .accepted else {
            return .rejected(.conflict(field: nil, message: "job \(jobId) is \(job.state.rawValue)"))
        }
        do { try capacity.validate(limits: limits.job, field: "capacity") } catch { return .rejected(.invalid(error)) }
        service.capacity = capacity
        job.spec.service = service
        job.updatedAtMs = atMs
        jobs[jobId] = job
        resizeService(jobId, atMs)
        return .job(jobs[jobId]!, replayed: false)
    }

    /// Brings a service's running task count to its desired count: new tasks fill the lowest free
    /// indexes; surplus tasks go unplaced ones first, then the highest indexes.
    private mutating func resizeService(_ jobId: String, _ atMs: Int64) {
        guard var job = jobs[jobId], let desired = job.spec.service?.capacity.desired else { return }
        let live = liveTasks(of: job)
        if live.count < desired {
            var used = Set(job.taskIds.compactMap { tasks[$0] }.filter { !$0.isFinished }.map(\.index))
            var index = 0
            for _ in live.count..<desired {
                while used.contains(index) { index += 1 }
                used.insert(index)
                addTask(to: &job, index: index, attempt: 0, atMs: atMs, notBeforeMs: 0)
            }
            jobs[jobId] = job
        } else if live.count > desired {
            let victims = live.sorted { a, b in
                let (ua, ub) = (a.state == .accepted, b.state == .accepted)
                return ua != ub ? ua : a.index > b.index
            }.prefix(live.count - desired)
            for victim in victims { beginKill(victim.id, reason: .scaledDown, atMs) }
        }
    }

    /// Tasks that count toward a service's desired size: not finished and not being killed.
    func liveTasks(of job: Job) -> [JobTask] {
        job.taskIds.compactMap { tasks[$0] }.filter { $0.state != .finished && $0.state != .killInitiated }
    }

    private mutating func setJobState(_ job: inout Job, _ state: JobState, _ atMs: Int64) {
        jobCountsByState[job.state, default: 0] -= 1
        jobCountsByState[state, default: 0] += 1
        job.state = state
        job.updatedAtMs = atMs
    }

    /// A job ends once it has no unfinished task and cannot get new ones.
    mutating func finishJobIfDone(_ jobId: String, _ atMs: Int64) {
        guard var job = jobs[jobId], job.state != .finished else { return }
        let unfinished = job.taskIds.contains { tasks[$0]?.isFinished == false }
        if unfinished { return }
        // A service runs until it is killed, even at a desired size of 0.
        if job.state == .accepted, job.spec.type == .service { return }
        setJobState(&job, .finished, atMs)
        jobs[jobId] = job
        finishedJobs.append(jobId)
        forgetOldFinishedJobs()
    }

    private mutating func forgetOldFinishedJobs() {
        while finishedJobs.count - finishedJobsHead > limits.finishedJobsRetained {
            let jobId = finishedJobs[finishedJobsHead]
            finishedJobsHead += 1
            guard let job = jobs.removeValue(forKey: jobId) else { continue }
            jobCountsByState[job.state, default: 0] -= 1
            for taskId in job.taskIds { removeTask(taskId) }
            if let key = job.idempotencyKey, idempotencyKeys[key] == jobId { idempotencyKeys[key] = nil }
        }
        if finishedJobsHead > 1_024, finishedJobsHead * 2 > finishedJobs.count {
            finishedJobs.removeFirst(finishedJobsHead)
            finishedJobsHead = 0
        }
        if jobOrder.count > 1_024, jobOrder.count > 2 * jobs.count {
            jobOrder.removeAll { jobs[$0] == nil }
        }
    }
}

extension JobStore {
    mutating func setTask(_ task: JobTask) { tasks[task.id] = task }

    mutating func taskCountsByStateAdd(_ state: TaskState, _ delta: Int) {
        taskCountsByState[state, default: 0] += delta
    }
}
