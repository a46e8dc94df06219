import Testing
import TestSupport
@testable import JobStore
@testable import Master
@testable import Raft
@testable import Shared

/// Every metric the master registers is in `docs/metrics.md`, and the computed ones say what
/// they should.
@Suite struct MetricsDocumentationTests {
    @Test func everyMasterMetricIsDocumented() throws {
        let metrics = MasterMetrics(store: StoreHandle(JobStore()))
        metrics.observeAgents(AgentRegistry(heartbeatIntervalMilliseconds: 1_000, versionBase: 0, buildResponse: { _, _, _ in
            fatalError("not asked")
        }), nowMs: { 0 })
        metrics.observeRaft { nil }
        let exposition = metrics.registry.exposition()
        #expect(MetricsDocumentation.registered(in: exposition).count >= 17)
        #expect(try MetricsDocumentation.undocumented(in: exposition) == [])
    }

    @Test func raftGaugesShowTermProgressAndLag() {
        let metrics = MasterMetrics(store: StoreHandle(JobStore()))
        var status = RaftReplicator.Status()
        status.role = .leader
        status.term = 7
        status.commit = 120
        status.applied = 115
        status.lastIndex = 125
        status.matchIndexes = [1: 125, 2: 100]
        let frozen = status
        metrics.observeRaft { (frozen, { id in "m\(id)" }) }
        let text = metrics.registry.exposition()
        for line in ["fuller_raft_term 7", "fuller_raft_commit_index 120", "fuller_raft_applied_index 115",
                     "fuller_raft_apply_lag_entries 5", "fuller_raft_is_leader 1",
                     #"fuller_raft_member_lag_entries{member="m1"} 0"#, #"fuller_raft_member_lag_entries{member="m2"} 25"#] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
    }
}
