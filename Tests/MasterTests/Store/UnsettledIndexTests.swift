import Testing
@testable import JobStore
@testable import Model

/// The store's index of placed tasks that are not `Started` (what the reconciler reads for
/// timeouts): kept in step through every transition and rebuilt by a restore.
@Suite struct UnsettledIndexTests {
    @Test func followsTheTaskThroughItsStatesAndSurvivesARestore() throws {
        var t = JobStoreTests()
        _ = t.create("s", JobStoreTests.serviceSpec(0, 2, 4))
        t.apply(.updateTask(TaskUpdate(taskId: "s-0", state: .launched, agentId: "a1", atMs: 2_000)))
        t.apply(.updateTask(TaskUpdate(taskId: "s-1", state: .launched, agentId: "a1", atMs: 2_000)))
        #expect(t.store.unsettledByAgent == ["a1": ["s-0", "s-1"]])
        t.apply(.updateTask(TaskUpdate(taskId: "s-0", state: .started, atMs: 3_000)))
        t.apply(.updateTask(TaskUpdate(taskId: "s-1", state: .startInitiated, atMs: 3_000)))
        #expect(t.store.unsettledByAgent == ["a1": ["s-1"]])
        t.apply(.killTask(taskId: "s-0", shrink: true, atMs: 4_000))
        t.apply(.updateTask(TaskUpdate(taskId: "s-1", state: .started, atMs: 4_000)))
        #expect(t.store.unsettledByAgent == ["a1": ["s-0"]], "KillInitiated is unsettled")
        let restored = try JobStore.restore(t.store.snapshot())
        #expect(restored.unsettledByAgent == t.store.unsettledByAgent)
        t.apply(.updateTask(TaskUpdate(taskId: "s-0", state: .finished, atMs: 5_000)))
        #expect(t.store.unsettledByAgent.isEmpty)
        #expect(t.store.tasksByAgent == ["a1": ["s-1"]])
    }
}
