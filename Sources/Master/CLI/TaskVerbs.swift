import Model
import Shared

/// `task list|kill`.
enum TaskVerbs {
    /// `task list [--job ID] [--state S] [--limit N] [--all]`.
    static func list(_ c: VerbContext) throws(CLIFailure) {
        var query: [(String, String)] = []
        if let job = c.parsed.string("job") { query.append(("jobId", job)) }
        if let state = c.parsed.string("state") { query.append(("state", state)) }
        let listed = try c.session.list("/v1/tasks", query: query, limit: c.parsed.int("limit"), all: c.parsed.bool("all"))
        if c.json { return c.printJSON(listed.jsonBytes) }
        c.io.writeOutput(taskTable(listed.items, now: c.io.wallClockNow(), showJob: true).text)
        if listed.nextCursor != nil { c.io.printError("(more tasks exist: use --all to list them all)") }
    }

    /// One row per task; REASON shows why a finished task ended, with its exit code if any, or
    /// why a waiting task is not placed yet.
    static func taskTable(_ tasks: [JSONValue], now: Timestamp, showJob: Bool) -> TextTable {
        var table = TextTable(["ID"] + (showJob ? ["JOB"] : []) + ["INDEX", "STATE", "HEALTH", "REASON", "AGENT", "IP", "AGE"])
        for task in tasks {
            var reason = TableText.text(task["reason"] ?? task["pendingReason"])
            if let code = task["exitCode"] { reason += " (exit \(TableText.text(code)))" }
            table.add([TableText.text(task["id"])] + (showJob ? [TableText.text(task["jobId"])] : []) + [
                TableText.text(task["index"]), TableText.text(task["state"]), TableText.text(task["health"]), reason, TableText.text(task["agentId"]),
                TableText.text(task["ip"]), TableText.age(from: task.string(at: "createdAt"), now: now),
            ])
        }
        return table
    }

    /// `task kill ID [--shrink]`.
    static func kill(_ c: VerbContext) throws(CLIFailure) {
        let target = RequestTarget.with(RequestTarget.path("/v1/tasks/", c.argument),
                                 query: [("shrink", c.parsed.bool("shrink") ? "true" : "false")])
        let (raw, task) = try c.session.json(.DELETE, target)
        if c.json { return c.printJSON(raw) }
        c.io.print("task \(TableText.text(task["id"])): \(TableText.text(task["state"]))")
    }
}
