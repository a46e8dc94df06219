import Testing

/// `task list`: a waiting task's REASON says why the scheduler has not placed it.
@Suite struct TaskListTests {
    @Test func pendingTasksShowWhyTheyWait() {
        let h = CLIHarness()
        let waiting = taskJSON("j-1-0", job: "j-1", index: 0, state: "Accepted",
                               extra: #","pendingReason":"9 agents: insufficient memory; 3 agents: zoneBalance","pendingReasons":{"insufficient memory":9,"zoneBalance":3}"#)
        let running = taskJSON("j-1-1", job: "j-1", index: 1, state: "Started", extra: #","agentId":"a1""#)
        h.master.on("GET /v1/tasks", .json(200, #"{"items":[\#(waiting),\#(running)]}"#))
        #expect(h.run("task list") == 0)
        let lines = h.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[1].contains("Accepted") && lines[1].contains("9 agents: insufficient memory; 3 agents: zoneBalance"))
        #expect(lines[2].contains("Started") && lines[2].contains("a1") && !lines[2].contains("agents:"))
    }
}
