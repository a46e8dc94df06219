import Testing
@testable import Master
import Model
import Shared

@Suite struct JobVerbsTests {
    @Test func listPrintsAnAlignedTable() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs", .json(200, #"{"items":[\#(jobJSON("j-1")),\#(jobJSON("job-22", name: "nightly-report", type: "batch", state: "Finished", createdAt: "2026-11-23T16:30:00.000Z", counts: #"{"Finished":3}"#))]}"#))
        #expect(h.run("job list") == 0)
        #expect(h.output == """
            ID       NAME             TYPE      STATE      TASKS                   AGE
            j-1      web              service   Accepted   2 Started, 1 Accepted   5m
            job-22   nightly-report   batch     Finished   3 Finished              2d

            """)
        #expect(h.errors.isEmpty)
    }

    @Test func listPassesFiltersAsQueryParameters() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs?type=service&state=Accepted&label=app%3Dweb&label=team%3Dx%20%26%20y&limit=5",
                    .json(200, #"{"items":[]}"#))
        let code = runCLI(["job", "list", "--type", "service", "--state", "Accepted", "--label", "app=web",
                           "--label=team=x & y", "--limit", "5"], environment: [:], io: h.io)
        #expect(code == 0)
        #expect(h.output == "ID   NAME   TYPE   STATE   TASKS   AGE\n")
    }

    @Test func listRejectsALabelWithoutEquals() {
        let h = CLIHarness()
        #expect(h.run("job list --label app") == 2)
        #expect(h.errors == "error: --label: \"app\" is not key=value\n")
        #expect(h.master.requests.isEmpty)
    }

    @Test func listWithJSONPrintsTheServersBodyAsIs() {
        let h = CLIHarness()
        let body = #"{"items":[\#(jobJSON("j-1"))],"nextCursor":"7"}"#
        h.master.on("GET /v1/jobs", .json(200, body))
        #expect(h.run("job list --json") == 0)
        #expect(h.output == body + "\n")
        #expect(h.errors.isEmpty)
    }

    @Test func listSaysWhenMorePagesExist() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs?limit=1", .json(200, #"{"items":[\#(jobJSON("j-1"))],"nextCursor":"1"}"#))
        #expect(h.run("job list --limit 1") == 0)
        #expect(h.errors == "(more jobs exist: use --all to list them all)\n")
    }

    @Test func listAllFollowsNextCursor() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs?limit=1000", .json(200, #"{"items":[\#(jobJSON("j-1"))],"nextCursor":"1"}"#))
        h.master.on("GET /v1/jobs?limit=1000&cursor=1", .json(200, #"{"items":[\#(jobJSON("j-2"))],"nextCursor":"2"}"#))
        h.master.on("GET /v1/jobs?limit=1000&cursor=2", .json(200, #"{"items":[\#(jobJSON("j-3"))]}"#))
        #expect(h.run("job list --all --json") == 0)
        #expect(h.targets.count == 3)
        let ids = (try? JSONParser.parse(h.output))?["items"].flatMap { items -> [String]? in
            guard case .array(let list) = items else { return nil }
            return list.compactMap { $0.string(at: "id") }
        }
        #expect(ids == ["j-1", "j-2", "j-3"])
    }

    @Test func listAllStopsOnARepeatedCursor() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs?limit=2", .json(200, #"{"items":[],"nextCursor":"4"}"#))
        h.master.on("GET /v1/jobs?limit=2&cursor=4", .json(200, #"{"items":[],"nextCursor":"4"}"#))
        #expect(h.run("job list --all --limit 2") == 1)
        #expect(h.errors.hasPrefix("error: GET /v1/jobs?limit=2&cursor=4: the server returned the same cursor twice"))
    }

    @Test func statusShowsTheJobThenItsTasks() {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs/j-1", .json(200, jobJSON("j-1")))
        h.master.on("GET /v1/tasks?jobId=j-1&limit=1000", .json(200, #"{"items":[\#(taskJSON("j-1-0", job: "j-1", index: 0, state: "Started", extra: #","agentId":"a1","ip":"172.17.0.2","health":"unhealthy""#)),\#(taskJSON("j-1-1", job: "j-1", index: 1, state: "Finished", extra: #","reason":"failed","exitCode":137"#))]}"#))
        #expect(h.run("job status j-1") == 0)
        #expect(h.output == """
            ID:         j-1
            Name:       web
            Owner:      team-a
            Type:       service (tier flex, group default)
            State:      Accepted
            Image:      nginx:1.27
            Resources:  0.5 cpu, 256 MB memory
            Capacity:   min 1, desired 3, max 5
            Labels:     app=web, env=prod
            Created:    2026-11-25T16:25:00.000Z (5m ago)
            Tasks:      2 Started, 1 Accepted

            ID      INDEX   STATE      HEALTH      REASON              AGENT   IP           AGE
            j-1-0   0       Started    unhealthy   -                   a1      172.17.0.2   2h
            j-1-1   1       Finished   -           failed (exit 137)   -       -            2h

            """)
    }

    @Test func statusWithJSONCombinesTheJobAndItsTasks() throws {
        let h = CLIHarness()
        h.master.on("GET /v1/jobs/j-1", .json(200, jobJSON("j-1")))
        h.master.on("GET /v1/tasks?jobId=j-1&limit=1000", .json(200, #"{"items":[\#(taskJSON("j-1-0", job: "j-1", index: 0, state: "Started"))]}"#))
        #expect(h.run("job status j-1 --json") == 0)
        let document = try JSONParser.parse(h.output.trimmingSuffix("\n"))
        #expect(document["job"] == (try JSONParser.parse(jobJSON("j-1"))))
        guard case .array(let tasks)? = document["tasks"] else { Issue.record("no tasks array"); return }
        #expect(tasks.map { $0.string(at: "id") } == ["j-1-0"])
    }

    @Test func killScaleAndIdsArePercentEncoded() {
        let h = CLIHarness()
        h.master.on("DELETE /v1/jobs/j-1", .json(200, jobJSON("j-1", state: "KillInitiated")))
        h.master.on("PUT /v1/jobs/j-1/capacity", .json(200, jobJSON("j-1")))
        h.master.on("GET /v1/jobs/a%2Fb%3Fc", .json(200, jobJSON("a/b?c")))
        h.master.on("GET /v1/tasks?jobId=a%2Fb%3Fc&limit=1000", .json(200, #"{"items":[]}"#))
        #expect(h.run("job kill j-1") == 0)
        #expect(h.run("job scale j-1 --min 1 --desired 3 --max 5") == 0)
        #expect(h.run("job status a/b?c --json") == 0)
        #expect(h.master.requests[1].body == #"{"min":1,"desired":3,"max":5}"#)
        #expect(h.master.requests[1].headers["Content-Type"] == "application/json")
        #expect(h.output.hasPrefix("job j-1: KillInitiated\njob j-1: capacity min 1, desired 3, max 5\n"))
    }

    @Test func scaleNeedsAllThreeNumbers() {
        let h = CLIHarness()
        #expect(h.run("job scale j-1 --min 1 --max 5") == 2)
        #expect(h.errors == "error: missing required --desired (see --help)\n")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
