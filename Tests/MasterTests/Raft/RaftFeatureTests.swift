import Testing
@testable import Raft

/// Beyond Figure 2: pre-vote, CheckQuorum, leases, ReadIndex, leadership transfer, membership
/// changes, snapshots, and the flow-control limits.
@Suite struct RaftFeatureTests {
    static func stableCluster(_ size: Int = 3, configure: (inout RaftConfig) -> Void = { _ in }) -> TestCluster {
        var c = TestCluster(size: size, configure: configure)
        c.stabilize()
        c.elect(1)
        return c
    }

    // MARK: Pre-vote and leases

    @Test func partitionedNodeRejoiningDoesNotDisruptLeader() {
        var c = Self.stableCluster()
        c.partition([3], [1, 2])
        for _ in 0..<50 {
            c.tickAll()
            c.stabilize()
        }
        #expect(c[3].term == 2, "pre-votes fail, so the isolated node never bumps its term")
        #expect(c[3].role == .preCandidate || c[3].role == .follower)
        c.heal()
        for _ in 0..<20 {
            c.tickAll()
            c.stabilize()
        }
        #expect(c[1].role == .leader && c[1].term == 2)
        #expect(c[3].leader == 1)
    }

    @Test func withoutPreVoteARejoiningNodeDisruptsTheLeader() {
        var c = Self.stableCluster { $0.preVote = false; $0.checkQuorum = false }
        c.partition([3], [1, 2])
        for _ in 0..<30 {
            c.tickAll()
            c.stabilize()
        }
        #expect(c[3].term > 2)
        c.heal()
        for _ in 0..<30 {
            c.tickAll()
            c.stabilize()
        }
        #expect(c[1].term > 2 || c[1].role != .leader, "the contrast case: the old leader lost its term")
    }

    @Test func followerInLeaseIgnoresVoteRequests() {
        var c = Self.stableCluster { $0.preVote = false }
        c[2].step(message(.vote, from: 3, to: 2, term: 9, index: 99, logTerm: 9))
        #expect(c[2].term == 2 && c[2].vote == 1, "it heard from leader 1 within the lease")
    }

    @Test func checkQuorumStepsDownAnIsolatedLeader() {
        var c = Self.stableCluster()
        c.partition([1], [2, 3])
        for _ in 0..<19 { c.tick(1); c.stabilize() }
        // The round that started before the cut still counts: it takes two periods.
        #expect(c[1].role == .leader)
        c.tick(1)
        #expect(c[1].role == .follower, "no quorum heard within a whole CheckQuorum period")
    }

    @Test func checkQuorumKeepsAConnectedLeader() {
        var c = Self.stableCluster()
        for _ in 0..<40 {
            c.tick(1)
            c.stabilize()
        }
        #expect(c[1].role == .leader && c[1].term == 2)
    }

    // MARK: ReadIndex

    @Test func readIndexNeedsAHeartbeatRoundThenTheAppliedIndex() throws {
        var c = Self.stableCluster()
        try c.propose(1, "a")
        c.stabilize()
        try c[1].readIndex(context: Array("r1".utf8))
        c.processReady(1)
        #expect(c.readStates[1, default: []].isEmpty, "not before a quorum confirmed leadership")
        c.stabilize()
        #expect(c.readStates[1]! == [ReadState(index: 3, context: Array("r1".utf8))])
    }

    @Test func readIndexOnIsolatedLeaderIsNeverConfirmed() throws {
        var c = Self.stableCluster()
        c.partition([1], [2, 3])
        try c[1].readIndex(context: Array("r1".utf8))
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty)
        #expect(throws: RaftError.notLeader(leader: 1)) { try c[2].readIndex(context: [1]) }
    }

    @Test func readIndexWaitsForTheLeaderToCommitInItsTerm() throws {
        var c = TestCluster(size: 3)
        c.stabilize()
        c.electHoldingAppends(1)
        #expect(c[1].commitIndex == 1, "the no-op of term 2 is not committed yet")
        try c[1].readIndex(context: [7])
        c.processReady(1)
        #expect(!c.network.contains { $0.kind == .heartbeat && $0.context == [7] }, "no read round before the commit")
        for _ in 0..<3 { c.tickAll(); c.stabilize() }
        #expect(c.readStates[1]! == [ReadState(index: 2, context: [7])])
    }

    // MARK: Leadership transfer

    @Test func transferHandsLeadershipToACaughtUpTarget() throws {
        var c = Self.stableCluster()
        try c[1].transferLeadership(to: 3)
        c.stabilize()
        #expect(c[3].role == .leader && c[3].term == 3)
        #expect(c[1].role == .follower && c[1].leader == 3)
    }

    @Test func transferCatchesTheTargetUpFirstAndRefusesProposals() throws {
        var c = Self.stableCluster()
        c.partition([1], [3])
        for i in 0..<5 { try c.propose(1, "x\(i)") }
        c.stabilize()
        c.heal()
        try c[1].transferLeadership(to: 3)
        #expect(throws: RaftError.transferInProgress) { try c.propose(1, "late") }
        c.stabilize()
        #expect(c[3].role == .leader)
        #expect(c[3].entries(1, c[3].lastIndex).contains { $0.data == Array("x4".utf8) })
    }

    @Test func transferToAnUnreachableTargetIsAbandoned() throws {
        var c = Self.stableCluster()
        c.partition([3], [1, 2])
        try c[1].transferLeadership(to: 3)
        for _ in 0..<12 { c.tick(1); c.stabilize() }
        #expect(c[1].role == .leader)
        try c.propose(1, "after")
    }

    // MARK: Membership

    @Test func addAVoterThatCatchesUpFromScratch() throws {
        var c = Self.stableCluster()
        try c.propose(1, "a")
        c.stabilize()
        c.add(4, voters: [])
        try c[1].proposeMembershipChange(.addVoter(4))
        #expect(throws: RaftError.membershipChangePending) { try c[1].proposeMembershipChange(.addVoter(5)) }
        c.stabilize()
        #expect(c[1].conf.voters == [1, 2, 3, 4])
        #expect(c[4].conf.voters == [1, 2, 3, 4])
        #expect(c.applied[4]! == c.applied[1]!)
        try c[1].proposeMembershipChange(.addLearner(5))  // the first change committed
    }

    @Test func removedLeaderStepsDownOnceTheChangeCommits() throws {
        var c = Self.stableCluster()
        try c[1].proposeMembershipChange(.remove(1))
        #expect(c[1].role == .leader, "still leads while the change is uncommitted")
        c.stabilize()
        #expect(c[1].role == .follower)
        for _ in 0..<15 { c.tickAll(); c.stabilize() }
        #expect(c.leaders.count == 1 && c.leaders[0] != 1)
        #expect(c[2].conf.voters == [2, 3])
    }

    @Test func membershipChangeTakesEffectWhenAppendedAndRollsBackWhenTruncated() throws {
        var c = Self.stableCluster()
        c.partition([1], [2, 3])
        try c[1].proposeMembershipChange(.addLearner(9))
        #expect(c[1].conf.learners == [9], "in effect as soon as it is appended")
        for _ in 0..<20 { c.tickAll(); c.stabilize() }
        c.heal()
        for _ in 0..<20 { c.tickAll(); c.stabilize() }
        #expect(c[1].conf.learners.isEmpty, "the uncommitted entry was overwritten, and the change with it")
    }

    // MARK: Snapshots

    @Test func laggingFollowerGetsASnapshot() throws {
        var c = Self.stableCluster()
        c.partition([1], [3])
        for i in 0..<6 { try c.propose(1, "s\(i)") }
        c.stabilize()
        c.compact(1)
        #expect(c[1].log.firstIndex == c[1].appliedIndex + 1)
        c.heal()
        for _ in 0..<3 { c.tickAll(); c.stabilize() }
        #expect(c.storages[3]!.snapshot() != nil, "entries were compacted: it must have come as a snapshot")
        #expect(c.applied[3]! == c.applied[1]!)
        try c.propose(1, "after")
        c.stabilize()
        #expect(c.applied[3]!.last == "after")
    }

    // MARK: Limits and flow control

    @Test func proposalsPastTheUncommittedLimitAreRefused() throws {
        var c = Self.stableCluster { $0.uncommittedBytesMax = 200 }
        c.partition([1], [2, 3])
        var accepted = 0
        for i in 0..<20 { if (try? c.propose(1, "payload-\(i)")) != nil { accepted += 1 } }
        #expect(accepted < 20 && accepted > 0)
        #expect(throws: RaftError.busy) { try c.propose(1, "more") }
    }

    @Test func appendsAreBatchedAndPipelinedWithinTheWindow() throws {
        var c = Self.stableCluster { $0.appendEntriesMax = 2; $0.inflightMessagesMax = 3 }
        for i in 0..<20 { try c.propose(1, "b\(i)") }
        c.processReady(1)
        let appends = c.take(from: 1, to: 2, kind: .append)
        #expect(appends.allSatisfy { $0.entries.count <= 2 })
        #expect(appends.filter { !$0.entries.isEmpty }.count == 3, "three batches in flight, then wait")
        c.network = []
        for _ in 0..<10 { c.tickAll(); c.stabilize() }
        #expect(c[2].lastIndex == c[1].lastIndex)
    }

    @Test func fastBacktrackingSkipsAWholeDivergentTerm() {
        // Node 2 has a long tail of term-2 entries that the term-4 leader does not have.
        var c = TestCluster(logs: [[3, 3, 3], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [3, 3, 3]], terms: [3, 3, 3])
        c.partition([2], [1, 3])
        c.elect(1)
        c.heal()
        var rejects = 0
        for _ in 0..<10 {
            c.tick(1)
            for id in c.ids { c.processReady(id) }
            rejects += c.network.filter { $0.kind == .appendResponse && $0.reject }.count
            c.deliver()
        }
        c.stabilize()
        #expect(c.terms(2) == c.terms(1))
        #expect(rejects <= 3, "one hint skips the whole term, not one entry per round trip")
    }
}
