import Model
import Shared

/// `job list|status|kill|scale` (and `submit`, in `JobVerbs+Submit.swift`).
enum JobVerbs {
    /// `job list [--type T] [--state S] [--label K=V]... [--limit N] [--all]`.
    static func list(_ c: VerbContext) throws(CLIFailure) {
        var query: [(String, String)] = []
        if let type = c.parsed.string("type") { query.append(("type", type)) }
        if let state = c.parsed.string("state") { query.append(("state", state)) }
        for label in c.parsed.list("label") {
            guard let equals = label.firstIndex(of: "="), equals != label.startIndex else {
                throw .usage("--label: \"\(label)\" is not key=value")
            }
            query.append(("label", label))
        }
        let listed = try c.session.list("/v1/jobs", query: query, limit: c.parsed.int("limit"), all: c.parsed.bool("all"))
        if c.json { return c.printJSON(listed.jsonBytes) }
        c.io.writeOutput(jobTable(listed.items, now: c.io.wallClockNow()).text)
        if listed.nextCursor != nil { c.io.printError("(more jobs exist: use --all to list them all)") }
    }

    static func jobTable(_ jobs: [JSONValue], now: Timestamp) -> TextTable {
        var table = TextTable(["ID", "NAME", "TYPE", "STATE", "TASKS", "AGE"])
        for job in jobs {
            table.add([TableText.text(job["id"]), TableText.text(job.at("spec.name")), TableText.text(job.at("spec.type")),
                       TableText.text(job["state"]), TableText.taskSummary(job["taskCounts"]),
                       TableText.age(from: job.string(at: "createdAt"), now: now)])
        }
        return table
    }

    /// `job status ID`: the job's details, then a table of its tasks.
    static func status(_ c: VerbContext) throws(CLIFailure) {
        let (_, job) = try c.session.json(.GET, RequestTarget.path("/v1/jobs/", c.argument))
        let tasks = try c.session.list("/v1/tasks", query: [("jobId", c.argument)], limit: nil, all: true)
        if c.json {
            var w = JSONWriter(capacity: 1_024 + tasks.items.count * 512)
            w.beginObject()
            w.key("job"); w.value(job)
            w.key("tasks"); w.value(.array(tasks.items))
            w.endObject()
            return c.printJSON(w.bytes)
        }
        let now = c.io.wallClockNow()
        c.io.writeOutput(jobDetails(job, now: now))
        c.io.print("")
        c.io.writeOutput(TaskVerbs.taskTable(tasks.items, now: now, showJob: false).text)
    }

    /// The `Field:  value` block `job status` prints above the task table.
    static func jobDetails(_ job: JSONValue, now: Timestamp) -> String {
        let spec = job["spec"]
        var rows: [(String, String)] = [
            ("ID", TableText.text(job["id"])),
            ("Name", TableText.text(spec?["name"])),
            ("Owner", TableText.text(spec?["owner"])),
            ("Type", "\(TableText.text(spec?["type"])) (tier \(TableText.text(spec?["tier"])), group \(TableText.text(spec?["capacityGroup"])))"),
            ("State", TableText.text(job["state"])),
            ("Image", TableText.text(spec?.at("container.image"))),
            ("Resources", "\(TableText.text(spec?.at("container.resources.cpu"))) cpu, \(TableText.text(spec?.at("container.resources.memoryMB"))) MB memory"),
        ]
        if let size = spec?.at("batch.size") { rows.append(("Size", TableText.text(size))) }
        if let capacity = spec?.at("service.capacity") {
            rows.append(("Capacity", "min \(TableText.text(capacity["min"])), desired \(TableText.text(capacity["desired"])), max \(TableText.text(capacity["max"]))"))
        }
        rows.append(("Labels", TableText.pairs(spec?["labels"])))
        rows.append(("Created", "\(TableText.text(job["createdAt"])) (\(TableText.age(from: job.string(at: "createdAt"), now: now)) ago)"))
        rows.append(("Tasks", TableText.taskSummary(job["taskCounts"])))
        let width = rows.map(\.0.count).max()! + 1
        return rows.map { ($0.0 + ":").padding(width) + "  " + $0.1 + "\n" }.joined()
    }

    /// `job kill ID`.
    static func kill(_ c: VerbContext) throws(CLIFailure) {
        let (raw, job) = try c.session.json(.DELETE, RequestTarget.path("/v1/jobs/", c.argument))
        if c.json { return c.printJSON(raw) }
        c.io.print("job \(TableText.text(job["id"])): \(TableText.text(job["state"]))")
    }

    /// `job scale ID --min N --desired N --max N`.
    static func scale(_ c: VerbContext) throws(CLIFailure) {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        for name in ["min", "desired", "max"] { w.field(name, c.parsed.int(name) ?? 0) }
        w.endObject()
        let (raw, job) = try c.session.json(.PUT, RequestTarget.path("/v1/jobs/", c.argument, "/capacity"), body: w.bytes)
        if c.json { return c.printJSON(raw) }
        let capacity = job.at("spec.service.capacity")
        c.io.print("job \(TableText.text(job["id"])): capacity min \(TableText.text(capacity?["min"])), desired \(TableText.text(capacity?["desired"])), max \(TableText.text(capacity?["max"]))")
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
