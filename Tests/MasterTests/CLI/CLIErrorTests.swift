import Testing
@testable import Master
import Shared

@Suite struct CLIErrorTests {
    @Test func serverErrorIsOneLineWithTheField() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs?state=Bogus", .json(400, #"{"error":{"code":"invalid_argument","message":"must be one of Accepted, KillInitiated, Finished","field":"state"}}"#))
        #expect(h.run("job list --state Bogus") == 1)
        #expect(h.errors == "error: invalid_argument: must be one of Accepted, KillInitiated, Finished (field: state)\n")
        #expect(h.output.isEmpty)
    }

    @Test func serverErrorWithoutAFieldOmitsIt() {
        let h = CLIHarness()
        h.master.on("DELETE /v1/jobs/nope", .json(404, #"{"error":{"code":"not_found","message":"job nope not found"}}"#))
        #expect(h.run("job kill nope") == 1)
        #expect(h.errors == "error: not_found: job nope not found\n")
    }

    @Test func agentsShowsTheServersErrorUntilTheRouteExists() {
        let h = CLIHarness()
        h.master.on("GET /v1/agents", .json(404, #"{"error":{"code":"not_found","message":"no route for GET /v1/agents"}}"#))
        #expect(h.run("agents") == 1)
        #expect(h.errors == "error: not_found: no route for GET /v1/agents\n")
    }

    @Test func aReplyThatIsNotAnEnvelopeIsReportedByStatus() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(502, "<html>bad gateway</html>"))
        #expect(h.run("cluster --json") == 1)
        #expect(h.errors == "error: http_502: Bad Gateway\n")
    }

    @Test func cannotConnectExitsThreeWithAHint() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .failure(.cannotConnect(server: "http://10.0.0.9:4700", reason: "connect failed: Connection refused (errno 111)")))
        #expect(h.run("cluster --server http://10.0.0.9:4700") == 3)
        #expect(h.connections == ["http://10.0.0.9:4700"])
        #expect(h.errors == """
            error: cannot connect to http://10.0.0.9:4700: connect failed: Connection refused (errno 111)
            hint: the master may not be running at http://10.0.0.9:4700; set --server URL or FULLER_SERVER

            """)
    }

    @Test func serverComesFromTheEnvironmentUnlessGiven() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(200, #"{"members":[],"term":1,"commitIndex":0,"appliedIndex":0}"#))
        #expect(h.run("cluster", environment: ["FULLER_SERVER": "http://m2:4700"]) == 0)
        #expect(h.run("cluster --server http://m3:4700", environment: ["FULLER_SERVER": "http://m2:4700"]) == 0)
        #expect(h.run("cluster") == 0)
        #expect(h.connections == ["http://m2:4700", "http://m3:4700", CLI.defaultServer])
    }

    @Test(arguments: [
        ("job", "error: missing command (expected one of: submit, list, status, kill, scale) (see --help)\n"),
        ("job status", "error: missing argument ID (see --help)\n"),
        ("job list --bogus", "error: unknown flag --bogus (see --help)\n"),
        ("task list --limit many", "error: --limit: \"many\" is not an integer (see --help)\n"),
        ("job submit missing.json", "error: cannot open missing.json: No such file or directory\n"),
    ])
    func usageErrorsExitTwo(line: String, message: String) {
        let h = CLIHarness()
        #expect(h.run(line) == 2)
        #expect(h.errors == message)
        #expect(h.master.requests.isEmpty)
    }

    @Test func helpGoesToStandardOutput() {
        let h = CLIHarness()
        #expect(h.run("job submit --help") == 0)
        #expect(h.output.hasPrefix("Usage: fuller-master job submit [flags] FILE\n"))
        #expect(h.output.contains("--server URL"))
        #expect(h.output.contains("--timeout DURATION"))
    }

    @Test func followsARedirectToTheLeader() {
        let h = CLIHarness()
        h.master.on("DELETE /v1/tasks/t-1?shrink=true",
                    .json(307, "", headers: ["Location": "http://m1:4700/v1/tasks/t-1?shrink=true"]),
                    .json(200, taskJSON("t-1", job: "j-1", index: 0, state: "KillInitiated")))
        #expect(h.run("task kill t-1 --shrink") == 0)
        #expect(h.connections == [CLI.defaultServer, "http://m1:4700"])
        #expect(h.output == "task t-1: KillInitiated\n")
    }

    @Test func redirectsAreBounded() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(307, "", headers: ["Location": "/v1/cluster"]))
        #expect(h.run("cluster") == 1)
        #expect(h.master.requests.count == APISession.redirectsMax + 1)
    }
}
