import Testing
@testable import JobStore
@testable import Model

/// `Idempotency-Key` in the store: a retry is compared with the spec as submitted, keys are
/// scoped by caller, and entries written before scopes existed keep working.
@Suite struct IdempotencyKeyTests {
    var store = JobStore()
    var index: UInt64 = 0

    @discardableResult
    mutating func apply(_ command: Command) -> CommandResult {
        index += 1
        return store.apply(command, index: index)
    }

    mutating func submit(_ id: String, _ spec: JobSpec, key: String = "k", scope: String? = "owner:o") -> CommandResult {
        apply(.createJob(jobId: id, spec: spec, idempotencyKey: key, idempotencyScope: scope, atMs: 1_000))
    }

    static let service = JobStoreTests.serviceSpec(1, 2, 4)

    @Test mutating func aRetryAfterAScaleReplaysTheOriginalJob() throws {
        _ = submit("j1", Self.service)
        _ = apply(.setCapacity(jobId: "j1", capacity: Capacity(min: 1, desired: 3, max: 4), atMs: 2_000))
        #expect(submit("j2", Self.service) == .job(try #require(store.job("j1")), replayed: true))
        #expect(store.job("j2") == nil && store.job("j1")?.spec.service?.capacity.desired == 3)
        // A spec as scaled is not what was submitted under the key.
        var scaled = Self.service
        scaled.service?.capacity.desired = 3
        guard case .rejected(.conflict(let field, _)) = submit("j3", scaled) else {
            Issue.record("a different spec under the same key must conflict"); return
        }
        #expect(field == "Idempotency-Key")
    }

    @Test mutating func aRetryAfterAShrinkingTaskKillReplaysToo() throws {
        _ = submit("j1", Self.service)
        _ = apply(.killTask(taskId: "j1-1", shrink: true, atMs: 2_000))
        #expect(store.job("j1")?.spec.service?.capacity.desired == 1)
        #expect(submit("j2", Self.service) == .job(try #require(store.job("j1")), replayed: true))
    }

    @Test mutating func twoScopesUsingOneKeyGetTwoJobs() {
        _ = submit("j1", Self.service, scope: "token:ci")
        guard case .job(let other, replayed: false) = submit("j2", Self.service, scope: "token:ops") else {
            Issue.record("another caller's key must not replay"); return
        }
        #expect(other.id == "j2" && store.jobCount == 2)
        guard case .job(let again, replayed: true) = submit("j3", Self.service, scope: "token:ops") else {
            Issue.record("the same caller's retry must replay"); return
        }
        #expect(again.id == "j2")
    }

    @Test mutating func aKeyIsForgottenWithItsJob() {
        var limits = StoreLimits()
        limits.finishedJobsRetained = 0
        store = JobStore(limits: limits)
        _ = submit("j1", Self.service)
        _ = apply(.killJob(jobId: "j1", atMs: 2_000))
        for task in store.tasks(ofJob: "j1") {
            _ = apply(.updateTask(TaskUpdate(taskId: task.id, state: .finished, reason: .killed, atMs: 3_000)))
        }
        #expect(store.job("j1") == nil && store.idempotencyKeys.isEmpty)
        guard case .job(let job, replayed: false) = submit("j2", Self.service) else { Issue.record("a new job"); return }
        #expect(job.id == "j2")
    }

    @Test mutating func scopeAndSubmittedCapacitySurviveASnapshot() throws {
        _ = submit("j1", Self.service, scope: "token:ci")
        _ = apply(.setCapacity(jobId: "j1", capacity: Capacity(min: 1, desired: 4, max: 4), atMs: 2_000))
        let bytes = store.snapshot()
        var restored = try JobStore.restore(bytes)
        #expect(restored.snapshot() == bytes)
        let retry = Command.createJob(jobId: "j2", spec: Self.service, idempotencyKey: "k", idempotencyScope: "token:ci", atMs: 3)
        #expect(restored.apply(retry, index: index + 1) == .job(try #require(store.job("j1")), replayed: true))
        let other = Command.createJob(jobId: "j3", spec: Self.service, idempotencyKey: "k", idempotencyScope: "token:ops", atMs: 3)
        guard case .job(_, replayed: false) = restored.apply(other, index: index + 2) else { Issue.record("other scope"); return }
    }

    /// A snapshot and a log entry written before scopes existed: the key was global then, and a
    /// retry from any caller still finds its job.
    @Test mutating func snapshotsAndEntriesFromBeforeScopesStillLoadAndMatch() throws {
        let legacy = Command.createJob(jobId: "j1", spec: Self.service, idempotencyKey: "k", atMs: 1_000)
        let entry = legacy.encoded()
        #expect(!String(decoding: entry, as: UTF8.self).contains("idempotencyScope"))
        #expect(try Command(encoded: entry) == legacy)
        _ = apply(try Command(encoded: entry))
        let snapshot = store.snapshot()
        #expect(!String(decoding: snapshot, as: UTF8.self).contains("idempotencyScope"))
        #expect(!String(decoding: snapshot, as: UTF8.self).contains("submittedCapacity"))
        var restored = try JobStore.restore(snapshot)
        let retry = Command.createJob(jobId: "j2", spec: Self.service, idempotencyKey: "k", idempotencyScope: "token:ci", atMs: 2)
        #expect(restored.apply(retry, index: index + 1) == .job(try #require(store.job("j1")), replayed: true))
    }

    @Test func scopedEntriesRoundTripThroughTheLogEncoding() throws {
        let command = Command.createJob(jobId: "j1", spec: Self.service, idempotencyKey: "k", idempotencyScope: "token:ci", atMs: 7)
        #expect(try Command(encoded: command.encoded()) == command)
    }
}
