import Model

/// One job and its tasks, boxed.
///
/// Why a class: the store is copied for every snapshot (cheaply, under a lock) and the writer
/// keeps applying commands to the original. With jobs as boxes, the first write after a copy
/// duplicates one pointer per job instead of every job's fields, and each job's own storage is
/// duplicated only when a command first touches that job (`JobStore.uniqueRecord`).
///
/// Invariant: a record is mutated only through `JobStore.uniqueRecord`, which clones it when it
/// is shared with a copy of the store; that is what makes the `@unchecked Sendable` sound.
final class JobRecord: @unchecked Sendable {
    var job: Job
    /// Tasks by their number (the suffix of the task id).
    var tasks: [Int: JobTask] = [:]
    /// Task numbers in creation order, of the tasks still retained.
    var taskNumbers: [Int] = []
    /// The number the next task gets; task ids are `<job id>-<number>`.
    var nextTaskNumber = 0
    /// Tasks not finished, and those of them that are live (not being killed either): kept in
    /// step by `JobStore.addTask` and `JobStore.put`, so that ending one task of thousands
    /// never counts the others.
    var unfinishedCount = 0
    var liveCount = 0
    /// Whose `Idempotency-Key` created the job (see `Command.createJob`).
    var idempotencyScope: String?
    /// A service's capacity as submitted, kept once it first changes, so that a retried submit
    /// is compared with the spec it sent rather than the job's current one (`submittedSpec`).
    var submittedCapacity: Capacity?

    init(job: Job) { self.job = job }

    /// The spec as it was submitted: capacity is the only part of a spec that changes later.
    var submittedSpec: JobSpec {
        var spec = job.spec
        if let submittedCapacity { spec.service?.capacity = submittedCapacity }
        return spec
    }

    /// Called before the capacity changes; only a job with a key needs its original kept.
    func keepSubmittedCapacity() {
        guard job.idempotencyKey != nil, submittedCapacity == nil else { return }
        submittedCapacity = job.spec.service?.capacity
    }

    func clone() -> JobRecord {
        let copy = JobRecord(job: job)
        copy.tasks = tasks
        copy.taskNumbers = taskNumbers
        copy.nextTaskNumber = nextTaskNumber
        copy.unfinishedCount = unfinishedCount
        copy.liveCount = liveCount
        copy.idempotencyScope = idempotencyScope
        copy.submittedCapacity = submittedCapacity
        return copy
    }

    /// Tasks in creation order.
    var orderedTasks: [JobTask] { taskNumbers.compactMap { tasks[$0] } }

    /// Tasks that count toward a service's desired size: not finished and not being killed.
    var liveTasks: [JobTask] { orderedTasks.filter(Self.isLive) }

    static func isLive(_ task: JobTask) -> Bool { task.state != .finished && task.state != .killInitiated }

    var hasUnfinishedTasks: Bool { unfinishedCount > 0 }
}

/// An `Idempotency-Key` within its scope: the store's index key.
struct IdempotencyKey: Hashable, Sendable {
    var scope: String?
    var key: String
}

extension JobRecord {
    var idempotencyIndexKey: IdempotencyKey? { job.idempotencyKey.map { IdempotencyKey(scope: idempotencyScope, key: $0) } }
}
