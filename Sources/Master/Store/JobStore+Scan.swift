import Model

/// For the reconciler: a scan of every task without building arrays or parsing task ids, and
/// when a task entered its state.
extension JobStore {
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
