import Model

/// Read-side queries. Pagination follows creation order with an opaque cursor (the sequence
/// number of the last job returned, or the position of the last task), so pages stay stable
/// while new jobs arrive.
extension JobStore {
    public struct JobFilter: Sendable {
        public var type: JobType?
        public var state: JobState?
        public var labels: [(String, String)]
        public init(type: JobType? = nil, state: JobState? = nil, labels: [(String, String)] = []) {
            self.type = type
            self.state = state
            self.labels = labels
        }

        func matches(_ job: Job) -> Bool {
            if let type, job.spec.type != type { return false }
            if let state, job.state != state { return false }
            return labels.allSatisfy { job.spec.labels[$0.0] == $0.1 }
        }
    }

    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        /// Pass back as `after` for the next page; nil when this page is the last.
        public var nextCursor: UInt64?
    }

    /// Jobs matching `filter` created after the one with sequence `after`, at most `limit`.
    public func listJobs(filter: JobFilter, after: UInt64 = 0, limit: Int) -> Page<Job> {
        var items: [Job] = []
        var position = lowerBound(after)
        while position < jobOrder.count {
            defer { position += 1 }
            guard let job = records[jobOrder[position]]?.job, job.sequence > after, filter.matches(job) else { continue }
            if items.count == limit { return Page(items: items, nextCursor: items.last?.sequence) }
            items.append(job)
        }
        return Page(items: items, nextCursor: nil)
    }

    /// Tasks in job creation order then task order; the cursor is the position across that order.
    public func listTasks(jobId: String?, state: TaskState?, after: UInt64 = 0, limit: Int) -> Page<JobTask> {
        var items: [JobTask] = []
        var position: UInt64 = 0
        for id in jobId.map({ [$0] }) ?? jobOrder {
            guard let record = records[id] else { continue }
            for number in record.taskNumbers {
                position += 1
                guard position > after, let task = record.tasks[number], state == nil || task.state == state else { continue }
                if items.count == limit { return Page(items: items, nextCursor: position - 1) }
                items.append(task)
            }
        }
        return Page(items: items, nextCursor: nil)
    }

    /// Task counts of one job by state.
    public func taskCounts(ofJob id: String) -> [TaskState: Int] {
        var counts: [TaskState: Int] = [:]
        guard let record = records[id] else { return counts }
        for task in record.tasks.values { counts[task.state, default: 0] += 1 }
        return counts
    }

    /// The unfinished tasks placed on an agent.
    public func tasks(onAgent id: String) -> [JobTask] {
        (tasksByAgent[id] ?? []).compactMap { task($0) }.sorted { $0.id < $1.id }
    }

    /// Tasks waiting for a placement whose back-off has passed, critical tier first, then in
    /// submit order, leaving out `skipping` (tasks the scheduler found no room for and will try
    /// again when capacity changes, so they do not hold back the ones behind them). Scans every
    /// unfinished job; keeps at most `limit` of each tier.
    public func pendingTasks(nowMs: Int64, limit: Int, skipping: Set<String> = []) -> [JobTask] {
        guard pendingCount > 0 else { return [] }
        var critical: [JobTask] = [], flex: [JobTask] = []
        for id in jobOrder {
            guard let record = records[id], record.job.state == .accepted else { continue }
            let isCritical = record.job.spec.tier == .critical
            if !isCritical && flex.count >= limit { continue }
            for number in record.taskNumbers {
                guard let task = record.tasks[number], task.state == .accepted, task.notBeforeMs <= nowMs,
                      !skipping.contains(task.id) else { continue }
                if isCritical { critical.append(task) } else { flex.append(task) }
            }
            if critical.count >= limit { break }
        }
        return Array((critical + flex).prefix(limit))
    }

    /// The earliest back-off end among pending tasks after `nowMs`, if any (to wake the scheduler).
    public func nextRetryMs(after nowMs: Int64) -> Int64? {
        guard pendingCount > 0 else { return nil }
        var earliest: Int64?
        for record in records.values where record.job.state == .accepted {
            for task in record.tasks.values where task.state == .accepted && task.notBeforeMs > nowMs {
                earliest = min(earliest ?? task.notBeforeMs, task.notBeforeMs)
            }
        }
        return earliest
    }

    /// Tasks that count toward a service's desired size.
    public func liveTasks(ofJob id: String) -> [JobTask] { records[id]?.liveTasks ?? [] }

    /// The first position in `jobOrder` whose job may have a sequence above `after`.
    private func lowerBound(_ after: UInt64) -> Int {
        // jobOrder is in sequence order; forgotten jobs leave gaps, so search by live neighbours.
        var lo = 0, hi = jobOrder.count
        while lo < hi {
            let mid = (lo + hi) / 2
            var probe = mid
            while probe < hi, records[jobOrder[probe]] == nil { probe += 1 }
            if probe == hi { hi = mid; continue }
            if records[jobOrder[probe]]!.job.sequence <= after { lo = probe + 1 } else { hi = mid }
        }
        return lo
    }
}
