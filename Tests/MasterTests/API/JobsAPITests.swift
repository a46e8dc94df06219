import Foundation
import Testing
@testable import JobStore
@testable import Master
@testable import Model
@testable import Shared

/// Every v1 job and task route, in-process, including each validation error.
@Suite struct JobsAPITests {
    let api = APIHarness()

    @Test func submitCreatesJobAndTasks() throws {
        let reply = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Content-Type": "application/json"])
        #expect(reply.status == 201)
        #expect(reply.headers["Location"] == "/v1/jobs/job-1")
        #expect(reply.json?["state"]?.stringValue == "Accepted")
        #expect(reply.json?["taskCounts"]?["Accepted"]?.intValue == 2)
        #expect(reply.json?["createdAt"]?.stringValue == "2023-11-14T22:13:20.000Z")
        let tasks = api.call(.GET, "/v1/tasks?jobId=job-1")
        #expect(tasks.json?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["job-1-0", "job-1-1"])
    }

    @Test(arguments: [
        (#""owner":"team@example.com","#, #""owner":"team@example.com","extra":1,"#, "extra"),
        (#""memoryMB":128"#, #""memoryMB":-1"#, "container.resources.memoryMB"),
        (#""size":2"#, #""size":"two""#, "batch.size"),
        (#""image":"fuller/test:1","#, "", "container.image"),
    ])
    func submitNamesTheBadField(original: String, replacement: String, field: String) {
        let body = Samples.batch.replacingOccurrences(of: original, with: replacement)
        let reply = api.call(.POST, "/v1/jobs", body: body)
        #expect(reply.status == 400)
        #expect(reply.errorCode == "invalid_argument")
        #expect(reply.errorField == field)
    }

    @Test func submitRejectsBadBodies() {
        #expect(api.call(.POST, "/v1/jobs", body: "").status == 400)
        #expect(api.call(.POST, "/v1/jobs", body: "{not json").status == 400)
        // The whole body is at fault, not one field: the envelope names none (never `"field":""`).
        let notAnObject = api.call(.POST, "/v1/jobs", body: "[]")
        #expect(notAnObject.status == 400 && notAnObject.json?["error"]?["field"] == nil)
        let wrongType = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Content-Type": "text/plain"])
        #expect(wrongType.status == 415 && wrongType.errorField == "Content-Type")
        for accepted in ["application/json; charset=utf-8", "application/x-www-form-urlencoded", "application/merge+json"] {
            #expect(api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Content-Type": accepted]).status == 201, "\(accepted)")
        }
    }

    @Test func aRetriedSubmitAfterAScaleReturnsTheOriginalJob() {
        let first = api.call(.POST, "/v1/jobs", body: Samples.service, headers: ["Idempotency-Key": "scale-1"])
        let id = first.json?["id"]?.stringValue ?? ""
        #expect(api.call(.PUT, "/v1/jobs/\(id)/capacity", body: #"{"min":1,"desired":3,"max":4}"#).status == 200)
        let retry = api.call(.POST, "/v1/jobs", body: Samples.service, headers: ["Idempotency-Key": "scale-1"])
        #expect(retry.status == 201 && retry.json?["id"]?.stringValue == id)
        #expect(retry.headers["Idempotent-Replayed"] == "true")
        #expect(api.store.read { $0.jobCount } == 1)
    }

    @Test func withoutTokensTwoOwnersUsingOneKeyGetTwoJobs() {
        let mine = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "shared"])
        let theirs = api.call(.POST, "/v1/jobs", body: Samples.batch.replacingOccurrences(of: "team@example.com", with: "other@example.com"),
                              headers: ["Idempotency-Key": "shared"])
        #expect(mine.status == 201 && theirs.status == 201)
        #expect(mine.json?["id"] != theirs.json?["id"] && theirs.headers["Idempotent-Replayed"] == nil)
    }

    @Test func withTokensTheKeyBelongsToTheTokenNotTheOwnerField() {
        let api = APIHarness(principal: { request in
            request.headers["Authorization"].map { Principal(role: .submit, name: String($0.dropFirst("Bearer ".count))) }
        })
        let ci = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "k", "Authorization": "Bearer ci"])
        let ops = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "k", "Authorization": "Bearer ops"])
        let ciAgain = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "k", "Authorization": "Bearer ci"])
        #expect(ci.json?["id"] != ops.json?["id"])
        #expect(ciAgain.json?["id"] == ci.json?["id"] && ciAgain.headers["Idempotent-Replayed"] == "true")
        #expect(api.store.read { $0.jobCount } == 2)
    }

    @Test func idempotencyKeyReturnsTheFirstJob() {
        let first = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "abc"])
        let again = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "abc"])
        #expect(first.status == 201 && again.status == 201)
        #expect(again.json?["id"] == first.json?["id"])
        #expect(again.headers["Idempotent-Replayed"] == "true")
        #expect(api.store.read { $0.jobCount } == 1)
        let other = api.call(.POST, "/v1/jobs", body: Samples.batch.replacingOccurrences(of: #""size":2"#, with: #""size":3"#),
                             headers: ["Idempotency-Key": "abc"])
        #expect(other.status == 409 && other.errorField == "Idempotency-Key")
        let bad = api.call(.POST, "/v1/jobs", body: Samples.batch, headers: ["Idempotency-Key": "has space"])
        #expect(bad.status == 400 && bad.errorField == "Idempotency-Key")
    }

    @Test func getAndKillJob() {
        _ = api.call(.POST, "/v1/jobs", body: Samples.batch)
        #expect(api.call(.GET, "/v1/jobs/job-1").json?["spec"]?["name"]?.stringValue == "hello")
        #expect(api.call(.GET, "/v1/jobs/nope").status == 404)
        let killed = api.call(.DELETE, "/v1/jobs/job-1")
        #expect(killed.status == 200 && killed.json?["state"]?.stringValue == "Finished")
        #expect(killed.json?["taskCounts"]?["Finished"]?.intValue == 2)
        #expect(api.call(.DELETE, "/v1/jobs/nope").status == 404)
    }

    @Test func listFiltersAndPages() throws {
        for _ in 0..<3 { _ = api.call(.POST, "/v1/jobs", body: Samples.batch) }
        _ = api.call(.POST, "/v1/jobs", body: Samples.service)
        let page = api.call(.GET, "/v1/jobs?limit=2")
        #expect(page.json?["items"]?.arrayValue?.count == 2)
        let cursor = try #require(page.json?["nextCursor"]?.stringValue)
        let rest = api.call(.GET, "/v1/jobs?limit=2&cursor=\(cursor)")
        #expect(rest.json?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["job-3", "job-4"])
        #expect(rest.json?["nextCursor"] == nil)
        let first = api.call(.GET, "/v1/jobs?limit=2&cursor=")
        #expect(first.status == 200 && first.json?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["job-1", "job-2"])
        #expect(api.call(.GET, "/v1/tasks?limit=3&cursor=").json?["items"]?.arrayValue?.count == 3)
        #expect(api.call(.GET, "/v1/jobs?type=service").json?["items"]?.arrayValue?.count == 1)
        #expect(api.call(.GET, "/v1/jobs?label=team%3Da").json?["items"]?.arrayValue?.count == 3)
        #expect(api.call(.GET, "/v1/jobs?state=Finished").json?["items"]?.arrayValue?.count == 0)
        #expect(api.call(.GET, "/v1/tasks?state=Accepted&limit=3").json?["items"]?.arrayValue?.count == 3)
    }

    @Test(arguments: [
        ("/v1/jobs?type=cron", "type"), ("/v1/jobs?state=Running", "state"), ("/v1/jobs?limit=0", "limit"),
        ("/v1/jobs?limit=1001", "limit"), ("/v1/jobs?cursor=abc", "cursor"), ("/v1/jobs?label=novalue", "label"),
        ("/v1/tasks?state=Nope", "state"), ("/v1/tasks?limit=x", "limit"),
    ])
    func listRejectsBadQueries(target: String, field: String) {
        let reply = api.call(.GET, target)
        #expect(reply.status == 400 && reply.errorField == field)
    }

    @Test func capacityChangesAreChecked() {
        _ = api.call(.POST, "/v1/jobs", body: Samples.service)
        let ok = api.call(.PUT, "/v1/jobs/job-1/capacity", body: #"{"min":1,"desired":3,"max":4}"#)
        #expect(ok.status == 200 && ok.json?["spec"]?["service"]?["capacity"]?["desired"]?.intValue == 3)
        #expect(ok.json?["taskCounts"]?["Accepted"]?.intValue == 3)
        let bad = api.call(.PUT, "/v1/jobs/job-1/capacity", body: #"{"min":3,"desired":2,"max":4}"#)
        #expect(bad.status == 400 && bad.errorField == "capacity.desired")
        let missing = api.call(.PUT, "/v1/jobs/job-1/capacity", body: #"{"min":1,"max":4}"#)
        #expect(missing.status == 400 && missing.errorField == "desired")
        let unknown = api.call(.PUT, "/v1/jobs/job-1/capacity", body: #"{"min":1,"desired":1,"max":4,"x":1}"#)
        #expect(unknown.status == 400 && unknown.errorField == "x")
        _ = api.call(.POST, "/v1/jobs", body: Samples.batch)
        let batch = api.call(.PUT, "/v1/jobs/job-2/capacity", body: #"{"min":1,"desired":1,"max":1}"#)
        #expect(batch.status == 400 && batch.errorField == "capacity")
        #expect(api.call(.PUT, "/v1/jobs/nope/capacity", body: #"{"min":1,"desired":1,"max":1}"#).status == 404)
    }

    @Test func killTaskWithAndWithoutShrink() {
        _ = api.call(.POST, "/v1/jobs", body: Samples.service)
        let shrunk = api.call(.DELETE, "/v1/tasks/job-1-1?shrink=true")
        #expect(shrunk.status == 200 && shrunk.json?["state"]?.stringValue == "Finished")
        #expect(api.call(.GET, "/v1/jobs/job-1").json?["spec"]?["service"]?["capacity"]?["desired"]?.intValue == 1)
        let atMin = api.call(.DELETE, "/v1/tasks/job-1-0?shrink=true")
        #expect(atMin.status == 409 && atMin.errorField == "shrink")
        #expect(api.call(.DELETE, "/v1/tasks/job-1-0?shrink=maybe").errorField == "shrink")
        #expect(api.call(.DELETE, "/v1/tasks/job-1-0").status == 200)
        #expect(api.call(.GET, "/v1/tasks/job-1-2").json?["index"]?.intValue == 0, "replaced in the same slot")
        #expect(api.call(.GET, "/v1/tasks/nope").status == 404)
        #expect(api.call(.GET, "/v1/tasks?jobId=nope").status == 404)
    }

    @Test func unknownRoutesAndMethods() {
        let missing = api.call(.GET, "/v2/jobs")
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        let wrongMethod = api.call(.PATCH, "/v1/jobs")
        #expect(wrongMethod.status == 405)
    }

    @Test func overloadedLogAnswers503() {
        let busy = APIHarness(failure: .overloaded)
        let reply = busy.call(.POST, "/v1/jobs", body: Samples.batch)
        #expect(reply.status == 503 && reply.errorCode == "unavailable")
    }

    @Test func systemRoutes() {
        _ = api.call(.POST, "/v1/jobs", body: Samples.batch)
        #expect(api.call(.GET, "/healthz").status == 200)
        #expect(api.call(.GET, "/readyz").status == 200)
        let metrics = String(decoding: api.call(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"fuller_tasks{state="Accepted"} 2"#))
        #expect(metrics.contains(#"fuller_jobs{state="Accepted"} 1"#))
        let cluster = api.call(.GET, "/v1/cluster")
        #expect(cluster.json?["leader"]?.stringValue == "m1" && cluster.json?["appliedIndex"]?.intValue == 1)
    }
}
