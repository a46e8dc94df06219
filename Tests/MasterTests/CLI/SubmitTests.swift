import Testing
@testable import Master
import Shared

@Suite struct SubmitTests {
    static let spec = #"{"name":"web","owner":"team-a","type":"batch","container":{"image":"busybox","resources":{"cpu":1,"memoryMB":64}},"batch":{"size":1}}"#

    @Test func submitPostsTheFileWithAnIdempotencyKeyAndPrintsTheId() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9"), headers: ["Location": "/v1/jobs/j-9"]))
        #expect(h.run("job submit job.json") == 0)
        #expect(h.output == "j-9\n")
        let request = h.master.requests[0]
        #expect(request.body == Self.spec)
        #expect(request.headers["Idempotency-Key"] == "key-1")
        #expect(request.headers["Content-Type"] == "application/json")
    }

    @Test func submitReadsStandardInputForDash() {
        let h = CLIHarness()
        h.standardInput = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9")))
        #expect(h.run("job submit - --json") == 0)
        #expect(h.output == jobJSON("j-9") + "\n")
        #expect(h.master.requests[0].body == Self.spec)
    }

    @Test func submitRejectsEmptyInputWithoutSending() {
        let h = CLIHarness()
        #expect(h.run("job submit -") == 2)
        #expect(h.errors == "error: standard input is empty\n")
        #expect(h.master.requests.isEmpty)
    }

    @Test func aRetriedSubmitReusesItsKey() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .failure(.transport("connection closed by the server")),
                    .json(503, #"{"error":{"code":"unavailable","message":"not the leader"}}"#),
                    .json(201, jobJSON("j-9")))
        #expect(h.run("job submit job.json") == 0)
        #expect(h.master.requests.map { $0.headers["Idempotency-Key"] } == ["key-1", "key-1", "key-1"])
        #expect(h.sleeps == JobVerbs.submitRetryDelays)
        #expect(h.output == "j-9\n")
    }

    @Test func aRejectedSubmitIsNotRetried() {
        let h = CLIHarness()
        h.files["job.json"] = "{}"
        h.master.on("POST /v1/jobs", .json(400, #"{"error":{"code":"invalid_argument","message":"is required","field":"type"}}"#))
        #expect(h.run("job submit job.json") == 1)
        #expect(h.master.requests.count == 1)
        #expect(h.errors == "error: invalid_argument: is required (field: type)\n")
    }

    @Test func waitPollsWithBackOffUntilFinished() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9")))
        h.master.on("GET /v1/jobs/j-9", .json(200, jobJSON("j-9")), .json(200, jobJSON("j-9")),
                    .failure(.cannotConnect(server: CLI.defaultServer, reason: "refused")),
                    .json(503, #"{"error":{"code":"unavailable","message":"no leader"}}"#),
                    .json(200, jobJSON("j-9", state: "Finished")))
        #expect(h.run("job submit job.json --wait") == 0)
        #expect(h.sleeps == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1_600)])
        #expect(h.output == "j-9\n")
        #expect(h.errors.isEmpty)
    }

    @Test func waitBackOffIsCappedAndBoundedByTheTimeout() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9")))
        h.master.on("GET /v1/jobs/j-9", .json(200, jobJSON("j-9", state: "KillInitiated")))
        #expect(h.run("job submit job.json --wait --timeout 20s") == 1)
        #expect(h.sleeps.map(\.wholeMilliseconds) == [200, 400, 800, 1_600, 3_200, 5_000, 5_000, 3_800])
        #expect(h.elapsed == .seconds(20))
        #expect(h.output == "j-9\n")
        #expect(h.errors == "error: timed out after 20s waiting for job j-9 to finish (state: KillInitiated)\n")
    }

    @Test func waitWithJSONPrintsTheFinishedJob() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9")))
        h.master.on("GET /v1/jobs/j-9", .json(200, jobJSON("j-9", state: "Finished")))
        #expect(h.run("job submit job.json --wait --json") == 0)
        #expect(h.output == jobJSON("j-9", state: "Finished") + "\n")
        #expect(h.sleeps.isEmpty)
    }

    @Test func waitStopsAtOnceWhenTheJobIsGone() {
        let h = CLIHarness()
        h.files["job.json"] = Self.spec
        h.master.on("POST /v1/jobs", .json(201, jobJSON("j-9")))
        h.master.on("GET /v1/jobs/j-9", .json(404, #"{"error":{"code":"not_found","message":"job j-9 not found"}}"#))
        #expect(h.run("job submit job.json --wait") == 1)
        #expect(h.sleeps.isEmpty)
        #expect(h.errors == "error: not_found: job j-9 not found\n")
    }
}
