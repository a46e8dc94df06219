import Model

/// Whole-store scans for the reconciler: one pass over every job's tasks without building
/// arrays or parsing task ids, so a pass over 100,000 tasks stays in milliseconds.
extension JobStore {
    /// Calls `body` with each job that still has unfinished tasks, and every task of it
    /// (finished ones included), in no particular order.
    public func forEachActiveJob(_ body: (Job, Dictionary<Int, JobTask>.Values) -> Void) {
        for record in records.values where record.job.state != .finished {
            body(record.job, record.tasks.values)
        }
    }

    /// Calls `body` with every retained task, finished ones included, in no particular order.
    public func forEachTask(_ body: (JobTask) -> Void) {
        for record in records.values {
            for task in record.tasks.values { body(task) }
        }
    }

    /// The moment a task entered its current state (its last history entry for that state).
    public static func enteredStateMs(_ task: JobTask) -> Int64 {
        if let last = task.history.last, last.state == task.state { return last.atMs }
        return task.updatedAtMs
    }
}
