import Testing
@testable import JobStore
@testable import Model

/// Commands that end thousands of tasks at once take time in proportion to the tasks, not to
/// their square: the store applies commands on the Raft loop, so one slow command stalls every
/// write and every agent's heartbeat behind it.
@Suite struct JobStoreScaleTests {
    static let tasks = 5_000
    /// Generous: linear work on 5,000 tasks takes milliseconds; the quadratic kind took tens of
    /// seconds in a debug build.
    static let limit: Duration = .seconds(3)

    static func service(desired: Int) -> JobSpec {
        JobStoreTests.serviceSpec(0, desired, 10_000)
    }

    @Test func scalingAServiceDownEndsItsUnplacedTasksQuickly() {
        var store = JobStore()
        _ = store.apply(.createJob(jobId: "s", spec: Self.service(desired: Self.tasks), idempotencyKey: nil, atMs: 1), index: 1)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            _ = store.apply(.setCapacity(jobId: "s", capacity: Capacity(min: 0, desired: 1, max: 10_000), atMs: 2), index: 2)
        }
        #expect(elapsed < Self.limit, "scaling \(Self.tasks) tasks down took \(elapsed)")
        // The same tasks remain as when each was forgotten right after it finished: the live one
        // (the lowest index) and the newest finished ones.
        let retained = store.limits.finishedTasksRetainedPerJob
        #expect(store.liveTasks(ofJob: "s").map(\.id) == ["s-0"])
        #expect(store.tasks(ofJob: "s").map(\.id) == ["s-0"] + ((Self.tasks - retained)..<Self.tasks).map { "s-\($0)" })
        #expect(store.taskCountsByState[.finished] == retained && store.taskCountsByState[.accepted] == 1)
        Self.expectCountsMatchTasks(store)

        // Up again: new tasks fill the free indexes, and the counts survive a snapshot.
        _ = store.apply(.setCapacity(jobId: "s", capacity: Capacity(min: 0, desired: 3, max: 10_000), atMs: 3), index: 3)
        #expect(store.liveTasks(ofJob: "s").map(\.index) == [0, 1, 2])
        Self.expectCountsMatchTasks(store)
        let restored = try? JobStore.restore(store.snapshot())
        #expect(restored.map { Self.expectCountsMatchTasks($0); return $0.liveTasks(ofJob: "s").count } == 3)
    }

    /// A record's counters agree with its tasks.
    static func expectCountsMatchTasks(_ store: JobStore, sourceLocation: SourceLocation = #_sourceLocation) {
        for record in store.records.values {
            let tasks = Array(record.tasks.values)
            #expect(record.unfinishedCount == tasks.filter { !$0.isFinished }.count, sourceLocation: sourceLocation)
            #expect(record.liveCount == tasks.filter(JobRecord.isLive).count, sourceLocation: sourceLocation)
        }
    }

    @Test func killingAServiceEndsItsUnplacedTasksQuickly() {
        var store = JobStore()
        _ = store.apply(.createJob(jobId: "s", spec: Self.service(desired: Self.tasks), idempotencyKey: nil, atMs: 1), index: 1)
        let elapsed = ContinuousClock().measure {
            _ = store.apply(.killJob(jobId: "s", atMs: 2), index: 2)
        }
        #expect(store.job("s")?.state == .finished)
        #expect(store.tasks(ofJob: "s").count == store.limits.finishedTasksRetainedPerJob)
        Self.expectCountsMatchTasks(store)
        #expect(elapsed < Self.limit, "killing \(Self.tasks) tasks took \(elapsed)")
    }
}
