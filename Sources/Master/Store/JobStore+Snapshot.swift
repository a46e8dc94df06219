import Model

/// Snapshot and restore. The snapshot is the whole state as one JSON document; restoring it and
/// applying the log entries after `appliedIndex` gives back exactly the store that was saved.
extension JobStore {
    public func snapshot() -> [UInt8] {
        var w = JSONWriter(capacity: 1_024 + records.count * 1_024)
        w.beginObject()
        w.field("version", 1)
        w.field("appliedIndex", appliedIndex)
        w.field("nextSequence", nextSequence)
        w.key("jobs")
        w.beginArray()
        for id in jobOrder { if let record = records[id] { write(record, to: &w) } }
        w.endArray()
        w.key("finishedJobs")
        w.stringArray(Array(finishedJobs[finishedJobsHead...]))
        if !masterAddresses.isEmpty {
            w.key("masters")
            w.beginObject()
            for (name, address) in masterAddresses.sorted(by: { $0.key < $1.key }) { w.field(name, address) }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    public static func restore(_ bytes: [UInt8], limits: StoreLimits = StoreLimits()) throws(FieldError) -> JobStore {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, maxDepth: 32) } catch { throw FieldError(field: "", message: error.description) }
        var r = try ObjectReader(value, path: "")
        guard try r.requiredInt("version") == 1 else { throw FieldError(field: "version", message: "unsupported snapshot version") }
        var store = JobStore(limits: limits)
        store.appliedIndex = UInt64(try r.requiredInt("appliedIndex"))
        store.nextSequence = UInt64(try r.requiredInt("nextSequence"))
        guard case .array(let jobs)? = r.value("jobs") else { throw FieldError(field: "jobs", message: "is required") }
        for (i, jobValue) in jobs.enumerated() { try store.restoreJob(jobValue, path: "jobs[\(i)]") }
        store.finishedJobs = try r.stringArray("finishedJobs") ?? []
        if case .object(let masters)? = r.value("masters") {
            for (name, value) in masters {
                guard case .string(let address) = value else { throw FieldError(field: "masters.\(name)", message: "must be a string") }
                store.masterAddresses[name] = address
            }
        }
        try r.finish()
        return store
    }

    private func write(_ record: JobRecord, to w: inout JSONWriter) {
        let job = record.job
        w.beginObject()
        w.field("id", job.id)
        w.key("spec"); job.spec.write(to: &w)
        w.field("state", job.state.rawValue)
        w.field("sequence", job.sequence)
        w.field("createdAt", job.createdAtMs)
        w.field("updatedAt", job.updatedAtMs)
        if let key = job.idempotencyKey { w.field("idempotencyKey", key) }
        if let scope = record.idempotencyScope { w.field("idempotencyScope", scope) }
        if let capacity = record.submittedCapacity { w.key("submittedCapacity"); capacity.write(to: &w) }
        w.field("nextTaskNumber", record.nextTaskNumber)
        w.key("tasks")
        w.beginArray()
        for task in record.orderedTasks { write(task, to: &w) }
        w.endArray()
        w.endObject()
    }

    private func write(_ t: JobTask, to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", t.id); w.field("index", t.index); w.field("attempt", t.attempt); w.field("state", t.state.rawValue)
        if let v = t.reason { w.field("reason", v.rawValue) }
        if let v = t.exitCode { w.field("exitCode", v) }
        if let v = t.message { w.field("message", v) }
        if let v = t.agentId { w.field("agentId", v) }
        if let v = t.containerId { w.field("containerId", v) }
        if let v = t.ip { w.field("ip", v) }
        if let v = t.health { w.field("health", v) }
        w.field("createdAt", t.createdAtMs); w.field("updatedAt", t.updatedAtMs); w.field("notBefore", t.notBeforeMs)
        w.key("history")
        w.beginArray()
        for h in t.history {
            w.beginObject()
            w.field("state", h.state.rawValue)
            if let r = h.reason { w.field("reason", r.rawValue) }
            w.field("at", h.atMs)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    private mutating func restoreJob(_ value: JSONValue, path: String) throws(FieldError) {
        var r = try ObjectReader(value, path: path)
        guard let specValue = r.value("spec") else { throw FieldError(field: r.fieldPath("spec"), message: "is required") }
        var job = Job(id: try r.requiredString("id"), spec: try JobSpec(json: specValue),
                      state: try r.enumValue("state", JobState.self), sequence: UInt64(try r.requiredInt("sequence")),
                      createdAtMs: Int64(try r.requiredInt("createdAt")), idempotencyKey: try r.string("idempotencyKey"))
        job.updatedAtMs = Int64(try r.requiredInt("updatedAt"))
        let record = JobRecord(job: job)
        record.nextTaskNumber = try r.requiredInt("nextTaskNumber")
        // Both absent from snapshots written before they existed: such a key stays global, and
        // a retry is compared with the current spec, as it was then.
        record.idempotencyScope = try r.string("idempotencyScope")
        if var c = try r.object("submittedCapacity") { record.submittedCapacity = try Capacity(reader: &c) }
        guard case .array(let taskValues)? = r.value("tasks") else { throw FieldError(field: r.fieldPath("tasks"), message: "is required") }
        for (i, tv) in taskValues.enumerated() {
            let path = "\(r.fieldPath("tasks"))[\(i)]"
            let task = try JobStore.restoreTask(tv, jobId: job.id, path: path)
            guard let (taskJob, number) = JobStore.splitTaskId(task.id), taskJob == job.id, number < record.nextTaskNumber,
                  record.tasks[number] == nil else {
                throw FieldError(field: "\(path).id", message: "task id \(task.id) does not belong to job \(job.id)")
            }
            record.taskNumbers.append(number)
            put(task, number, in: record)
            taskCountsByState[task.state, default: 0] += 1
            taskCount += 1
        }
        try r.finish()
        records[job.id] = record
        jobOrder.append(job.id)
        jobCountsByState[job.state, default: 0] += 1
        if let key = record.idempotencyIndexKey { idempotencyKeys[key] = job.id }
    }

    private static func restoreTask(_ value: JSONValue, jobId: String, path: String) throws(FieldError) -> JobTask {
        var r = try ObjectReader(value, path: path)
        var t = JobTask(id: try r.requiredString("id"), jobId: jobId, index: try r.requiredInt("index"),
                        attempt: try r.requiredInt("attempt"), createdAtMs: Int64(try r.requiredInt("createdAt")),
                        notBeforeMs: Int64(try r.requiredInt("notBefore")))
        t.state = try r.enumValue("state", TaskState.self)
        t.reason = try r.optionalEnum("reason", FinishReason.self)
        t.exitCode = try r.int("exitCode")
        t.message = try r.string("message")
        t.agentId = try r.string("agentId")
        t.containerId = try r.string("containerId")
        t.ip = try r.string("ip")
        t.health = try r.string("health")
        t.updatedAtMs = Int64(try r.requiredInt("updatedAt"))
        guard case .array(let hs)? = r.value("history") else { throw FieldError(field: r.fieldPath("history"), message: "is required") }
        t.history = []
        for (i, hv) in hs.enumerated() {
            var h = try ObjectReader(hv, path: "\(path).history[\(i)]")
            t.history.append(TaskStatusEntry(state: try h.enumValue("state", TaskState.self),
                                             reason: try h.optionalEnum("reason", FinishReason.self),
                                             atMs: Int64(try h.requiredInt("at"))))
            try h.finish()
        }
        try r.finish()
        return t
    }
}
