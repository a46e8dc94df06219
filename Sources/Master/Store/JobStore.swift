import Model

/// The job store: a deterministic state machine over `Command`s.
///
/// A pure value: no I/O, no clock, no randomness. The shell around it proposes a command to the
/// log, and only once the log says the entry is durable (and, with Raft, committed) does it call
/// `apply`, in log order, on every replica. Equal logs therefore give equal stores.
///
/// ```
/// job:  Accepted ──kill──► KillInitiated ──all tasks finished──► Finished
///          └────────────── all tasks finished (batch) ────────────▲
/// ```
///
/// Copies are cheap (copy-on-write all the way down, see `JobRecord`), so the shell snapshots a
/// copy while the original keeps applying. Capacity for the job table is reserved up front so a
/// growing store never stops to rehash every job while a client waits.
public struct JobStore: Sendable {
    var records: [String: JobRecord] = [:]
    /// Job ids in creation order; entries of forgotten jobs are skipped and compacted lazily.
    var jobOrder: [String] = []
    /// Job ids by the `Idempotency-Key` (and its scope) that created them. An entry lives exactly
    /// as long as its job is retained, so the index holds at most `activeJobsMax +
    /// finishedJobsRetained` entries, each key at most `JobsAPI.idempotencyKeyBytesMax` bytes.
    var idempotencyKeys: [IdempotencyKey: String] = [:]
    /// Finished job ids, oldest first, for retention (`finishedJobsHead` marks the live start).
    var finishedJobs: [String] = []
    var finishedJobsHead = 0
    public internal(set) var nextSequence: UInt64 = 1
    /// The log index of the last applied command (0 = none).
    public internal(set) var appliedIndex: UInt64 = 0
    public internal(set) var jobCountsByState: [JobState: Int] = [:]
    public internal(set) var taskCountsByState: [TaskState: Int] = [:]
    public internal(set) var taskCount = 0
    /// Tasks in `Accepted`: waiting for a placement (or a retry back-off).
    public internal(set) var pendingCount = 0
    /// Ids of the unfinished tasks placed on each agent.
    public internal(set) var tasksByAgent: [String: Set<String>] = [:]
    /// Ids of the unfinished tasks on each agent that are not `Started`: the ones whose
    /// timeouts the reconciler checks (every other task on a connected agent is settled).
    public internal(set) var unsettledByAgent: [String: Set<String>] = [:]
    /// What the unfinished tasks on each agent ask for, kept with `tasksByAgent`.
    public internal(set) var agentLoads: [String: AgentLoad] = [:]
    /// What the unfinished placed tasks of each capacity group ask for.
    public internal(set) var groupUsage: [String: Resources] = [:]
    /// Peer addresses of masters added at run time, by name (see `Command.setMasterAddress`).
    public internal(set) var masterAddresses: [String: String] = [:]
    public let limits: StoreLimits

    /// Job-table capacity reserved at start; beyond it the table grows as usual.
    static let reservedJobsMax = 1 << 18

    public init(limits: StoreLimits = StoreLimits()) {
        self.limits = limits
        let reserve = min(limits.activeJobsMax + limits.finishedJobsRetained, Self.reservedJobsMax)
        records.reserveCapacity(reserve)
        idempotencyKeys.reserveCapacity(reserve)
        jobOrder.reserveCapacity(reserve)
    }

    public var jobCount: Int { records.count }
    public var activeJobCount: Int { records.count - (finishedJobs.count - finishedJobsHead) }

    public func job(_ id: String) -> Job? { records[id]?.job }

    public func task(_ id: String) -> JobTask? {
        guard let (jobId, number) = Self.splitTaskId(id) else { return nil }
        return records[jobId]?.tasks[number]
    }

    /// A job's retained tasks in creation order.
    public func tasks(ofJob id: String) -> [JobTask] { records[id]?.orderedTasks ?? [] }

    /// Task ids are `<job id>-<number>`; the job id may itself contain dashes.
    static func splitTaskId(_ id: String) -> (String, Int)? {
        guard let dash = id.lastIndex(of: "-"), let number = Int(id[id.index(after: dash)...]), number >= 0 else { return nil }
        return (String(id[..<dash]), number)
    }

    /// The job's record, cloned first if a copy of the store still shares it. Each command calls
    /// this once for its job and then mutates the returned record freely.
    mutating func uniqueRecord(_ id: String) -> JobRecord? {
        guard records[id] != nil else { return nil }
        if !isKnownUniquelyReferenced(&records[id]!) { records[id] = records[id]!.clone() }
        return records[id]!
    }

    /// Applies the command at log position `index`, which must follow the last one applied.
    public mutating func apply(_ command: Command, index: UInt64) -> CommandResult {
        // Raft logs hold entries that are not store commands (no-ops, membership), so indexes may
        // skip; they never repeat or go back.
        precondition(index > appliedIndex, "log index \(index) after \(appliedIndex)")
        appliedIndex = index
        switch command {
        case let .createJob(jobId, spec, key, scope, atMs):
            return createJob(jobId, spec, key.map { IdempotencyKey(scope: scope, key: $0) }, atMs)
        case let .killJob(jobId, atMs): return killJob(jobId, atMs)
        case let .setCapacity(jobId, capacity, atMs): return setCapacity(jobId, capacity, atMs)
        case let .killTask(taskId, shrink, atMs): return killTask(taskId, shrink: shrink, atMs)
        case let .updateTask(update): return updateTask(update)
        case let .setMasterAddress(name, address, _): return setMasterAddress(name, address)
        case let .forgetMaster(name, _):
            masterAddresses[name] = nil
            return .master(name: name, peerAddress: nil)
        }
    }

    /// At most this many recorded master addresses; a group has 1, 3 or 5 masters.
    public static let masterAddressesMax = 64

    private mutating func setMasterAddress(_ name: String, _ address: String) -> CommandResult {
        guard masterAddresses[name] != nil || masterAddresses.count < Self.masterAddressesMax else {
            return .rejected(.limitExceeded(field: "id", message: "the store records \(Self.masterAddressesMax) masters, its limit"))
        }
        masterAddresses[name] = address
        return .master(name: name, peerAddress: address)
    }

    // MARK: Jobs

    private mutating func createJob(_ jobId: String, _ spec: JobSpec, _ key: IdempotencyKey?, _ atMs: Int64) -> CommandResult {
        if let key, let existing = idempotentCreate(key) {
            // Compared with the spec as submitted: a retry after a scale is still the same request.
            guard existing.submittedSpec == spec else {
                return .rejected(.conflict(field: "Idempotency-Key",
                                           message: "key \"\(key.key)\" was used for a different job (\(existing.job.id))"))
            }
            return .job(existing.job, replayed: true)
        }
        do { try spec.validate(limits: limits.job) } catch { return .rejected(.invalid(error)) }
        guard records[jobId] == nil else {
            return .rejected(.conflict(field: "id", message: "job \(jobId) already exists"))
        }
        guard activeJobCount < limits.activeJobsMax else {
            return .rejected(.limitExceeded(field: nil, message: "the store holds \(limits.activeJobsMax) active jobs, its limit"))
        }
        let record = JobRecord(job: Job(id: jobId, spec: spec, sequence: nextSequence, createdAtMs: atMs, idempotencyKey: key?.key))
        record.idempotencyScope = key?.scope
        nextSequence += 1
        records[jobId] = record
        jobOrder.append(jobId)
        jobCountsByState[.accepted, default: 0] += 1
        if let key { idempotencyKeys[key] = jobId }
        let count = spec.batch?.size ?? spec.service?.capacity.desired ?? 0
        record.tasks.reserveCapacity(count)
        for i in 0..<count { addTask(to: record, index: i, attempt: 0, atMs: atMs, notBeforeMs: 0) }
        finishJobIfDone(record, atMs)
        return .job(record.job, replayed: false)
    }

    /// The job an earlier create with `key` made. Keys recorded before scopes existed (nil scope)
    /// were global, and still match a retry from any scope.
    private func idempotentCreate(_ key: IdempotencyKey) -> JobRecord? {
        if let id = idempotencyKeys[key], let record = records[id] { return record }
        guard key.scope != nil, let id = idempotencyKeys[IdempotencyKey(scope: nil, key: key.key)] else { return nil }
        return records[id]
    }

    private mutating func killJob(_ jobId: String, _ atMs: Int64) -> CommandResult {
        guard let record = uniqueRecord(jobId) else { return .rejected(.notFound(kind: "job", id: jobId)) }
        guard record.job.state == .accepted else { return .job(record.job, replayed: false) }
        setJobState(record, .killInitiated, atMs)
        for task in record.orderedTasks where !task.isFinished {
            beginKill(record, task.id, reason: .killed, atMs, forgetting: false)
        }
        // Unless the job finished and was forgotten whole meanwhile.
        if records[jobId] === record { forgetOldFinishedTasks(record) }
        finishJobIfDone(record, atMs)
        return .job(record.job, replayed: false)
    }

    private mutating func setCapacity(_ jobId: String, _ capacity: Capacity, _ atMs: Int64) -> CommandResult {
        guard let record = uniqueRecord(jobId) else { return .rejected(.notFound(kind: "job", id: jobId)) }
        guard var service = record.job.spec.service else {
            return .rejected(.invalid(FieldError(field: "capacity", message: "only service jobs have a capacity")))
        }
        guard record.job.state == .accepted else {
            return .rejected(.conflict(field: nil, message: "job \(jobId) is \(record.job.state.rawValue)"))
        }
        do { try capacity.validate(limits: limits.job, field: "capacity") } catch { return .rejected(.invalid(error)) }
        record.keepSubmittedCapacity()
        service.capacity = capacity
        record.job.spec.service = service
        record.job.updatedAtMs = atMs
        resizeService(record, atMs)
        return .job(record.job, replayed: false)
    }

    /// Brings a service's running task count to its desired count: new tasks fill the lowest free
    /// indexes; surplus tasks go unplaced ones first, then the highest indexes.
    private mutating func resizeService(_ record: JobRecord, _ atMs: Int64) {
        guard let desired = record.job.spec.service?.capacity.desired else { return }
        let live = record.liveTasks
        if live.count < desired {
            var used = Set(record.tasks.values.filter { !$0.isFinished }.map(\.index))
            var index = 0
            for _ in live.count..<desired {
                while used.contains(index) { index += 1 }
                used.insert(index)
                addTask(to: record, index: index, attempt: 0, atMs: atMs, notBeforeMs: 0)
            }
        } else if live.count > desired {
            let victims = live.sorted { a, b in
                let (ua, ub) = (a.state == .accepted, b.state == .accepted)
                return ua != ub ? ua : a.index > b.index
            }.prefix(live.count - desired)
            for victim in victims { beginKill(record, victim.id, reason: .scaledDown, atMs, forgetting: false) }
            forgetOldFinishedTasks(record)
        }
    }

    mutating func setJobState(_ record: JobRecord, _ state: JobState, _ atMs: Int64) {
        jobCountsByState[record.job.state, default: 0] -= 1
        jobCountsByState[state, default: 0] += 1
        record.job.state = state
        record.job.updatedAtMs = atMs
    }

    /// A batch job ends once no task is unfinished and none will be retried; a service only
    /// after it was killed (it keeps running even at a desired size of 0).
    mutating func finishJobIfDone(_ record: JobRecord, _ atMs: Int64) {
        let job = record.job
        guard job.state != .finished, !record.hasUnfinishedTasks else { return }
        if job.state == .accepted, job.spec.type == .service { return }
        setJobState(record, .finished, atMs)
        finishedJobs.append(job.id)
        forgetOldFinishedJobs()
    }

    private mutating func forgetOldFinishedJobs() {
        while finishedJobs.count - finishedJobsHead > limits.finishedJobsRetained {
            let jobId = finishedJobs[finishedJobsHead]
            finishedJobsHead += 1
            guard let record = records.removeValue(forKey: jobId) else { continue }
            jobCountsByState[record.job.state, default: 0] -= 1
            for task in record.tasks.values {
                taskCountsByState[task.state, default: 0] -= 1
                taskCount -= 1
                precondition(task.isFinished, "a finished job has only finished tasks")
            }
            if let key = record.idempotencyIndexKey, idempotencyKeys[key] == jobId { idempotencyKeys[key] = nil }
        }
        if finishedJobsHead > 1_024, finishedJobsHead * 2 > finishedJobs.count {
            finishedJobs.removeFirst(finishedJobsHead)
            finishedJobsHead = 0
        }
        if jobOrder.count > 1_024, jobOrder.count > 2 * records.count {
            jobOrder.removeAll { records[$0] == nil }
        }
    }
}
