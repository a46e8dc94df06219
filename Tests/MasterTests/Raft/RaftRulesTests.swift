import Testing
@testable import Raft

/// One test per rule of Figure 2 of the Raft paper (and §5.4.2), driven by hand.
@Suite struct RaftRulesTests {
    // MARK: All servers

    @Test func stepsDownOnHigherTerm() {
        var c = TestCluster(size: 3)
        c.elect(1)
        #expect(c[1].role == .leader)
        c[1].step(message(.appendResponse, from: 2, to: 1, term: 7))
        #expect(c[1].role == .follower)
        #expect(c[1].term == 7)
        #expect(c[1].vote == 0)
    }

    @Test func appliesCommittedEntriesInOrderOnce() throws {
        var c = TestCluster(size: 3)
        c.elect(1)
        for text in ["a", "b", "c"] { try c.propose(1, text) }
        c.stabilize()
        c.tickAll(times: 3)
        c.stabilize()
        for id in c.ids { #expect(c.applied[id]! == ["conf", "", "a", "b", "c"]) }
    }

    // MARK: AppendEntries receiver

    @Test func appendRepliesFalseWhenTermIsOld() {
        var c = TestCluster(logs: [[2], [2]], terms: [3, 3])
        c[2].step(message(.append, from: 1, to: 2, term: 2, index: 2, logTerm: 2, entries: [(2, 3)]))
        c.processReady(2)
        let replies = c.take(from: 2)
        #expect(replies.count == 1 && replies[0].term == 3)
        #expect(c[2].lastIndex == 2, "entries from a stale leader are not appended")
    }

    @Test func appendRejectsWithoutMatchingPrevEntryAndHints() {
        // The follower has terms [1, 2, 2, 2] at 1...4; the leader probes at index 5 (term 5).
        var c = TestCluster(logs: [[5, 5, 5, 5], [2, 2, 2]], terms: [5, 5])
        c[2].step(message(.append, from: 1, to: 2, term: 5, index: 5, logTerm: 5, entries: [(5, 6)]))
        c.processReady(2)
        let r = c.take(from: 2)[0]
        #expect(r.reject)
        #expect(r.index == 5)
        // Hint: the follower's last entry (4, term 2) is the best place the logs may agree.
        #expect(r.rejectHint == 4 && r.logTerm == 2)
        #expect(c[2].lastIndex == 4)
    }

    @Test func appendDeletesConflictingEntriesAndAppendsNew() {
        var c = TestCluster(logs: [[1, 3], [1, 2, 2]], terms: [3, 3])
        c[2].step(message(.append, from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [(3, 3)]))
        #expect(c.terms(2) == [1, 1, 3])
    }

    @Test func appendIsIdempotentAndKeepsLaterEntries() {
        var c = TestCluster(logs: [[1, 2, 2], [1, 2, 2]], terms: [2, 2])
        // A delayed, shorter append must not truncate entries after it that agree.
        c[2].step(message(.append, from: 1, to: 2, term: 2, index: 1, logTerm: 1, entries: [(1, 2)]))
        #expect(c.terms(2) == [1, 1, 2, 2])
    }

    @Test func commitIsMinOfLeaderCommitAndLastNewEntry() {
        var c = TestCluster(logs: [[2, 2, 2, 2], [2, 2, 2, 2]], terms: [2, 2])
        // Leader commit 5, but this append only vouches for entries through 3.
        c[2].step(message(.append, from: 1, to: 2, term: 2, index: 2, logTerm: 2, commit: 5, entries: [(2, 3)]))
        #expect(c[2].commitIndex == 3)
        c[2].step(message(.append, from: 1, to: 2, term: 2, index: 3, logTerm: 2, commit: 5, entries: [(2, 4), (2, 5)]))
        #expect(c[2].commitIndex == 5)
    }

    // MARK: RequestVote receiver

    @Test func voteRepliesFalseWhenTermIsOld() {
        var c = TestCluster(logs: [[], []], terms: [3, 3]) { $0.preVote = false }
        c[2].step(message(.vote, from: 1, to: 2, term: 2, index: 1, logTerm: 1))
        c.processReady(2)
        #expect(c.take(from: 2, kind: .voteResponse).isEmpty, "a stale candidate gets no vote")
        #expect(c[2].vote == 0)
    }

    @Test func grantsOneVotePerTerm() {
        var c = TestCluster(logs: [[], [], []], terms: [1, 1, 1]) { $0.preVote = false }
        c[3].step(message(.vote, from: 1, to: 3, term: 2, index: 1, logTerm: 1))
        c[3].step(message(.vote, from: 2, to: 3, term: 2, index: 1, logTerm: 1))
        c[3].step(message(.vote, from: 1, to: 3, term: 2, index: 1, logTerm: 1))  // a retry is re-granted
        c.processReady(3)
        let replies = c.take(from: 3)
        #expect(replies.map { [$0.to, $0.reject ? 0 : 1] } == [[1, 1], [2, 0], [1, 1]])
        #expect(c.storages[3]!.hardState().vote == 1, "the vote is persisted with the replies")
    }

    @Test(arguments: [
        // (candidate last index, candidate last term, granted) against a voter whose log is [1, 2, 2] (last 3, term 2)
        (UInt64(3), UInt64(2), true), (2, 2, false), (4, 2, true), (2, 3, true), (9, 1, false),
    ])
    func grantsVoteOnlyIfCandidateLogIsUpToDate(index: UInt64, logTerm: UInt64, granted: Bool) {
        var c = TestCluster(logs: [[], [2, 2]], terms: [2, 2]) { $0.preVote = false }
        c[2].step(message(.vote, from: 1, to: 2, term: 3, index: index, logTerm: logTerm))
        c.processReady(2)
        #expect(c.take(from: 2)[0].reject == !granted)
    }

    // MARK: Candidates

    @Test func candidateWinsWithQuorumAndBecomesLeader() {
        var c = TestCluster(size: 5) { $0.preVote = false }
        c.stabilize()
        c.partition([1, 2, 3], [4, 5])
        c.elect(1)
        #expect(c[1].role == .leader)
        #expect(c[1].term == 2)
    }

    @Test func candidateWithoutQuorumDoesNotWin() {
        var c = TestCluster(size: 5) { $0.preVote = false }
        c.stabilize()
        c.partition([1, 2], [3, 4, 5])
        c.elect(1)
        #expect(c[1].role == .candidate)
    }

    @Test func candidateStepsDownOnLeaderOfSameTerm() {
        var c = TestCluster(logs: [[], [], []], terms: [1, 1, 1]) { $0.preVote = false }
        c[2].campaignNow()
        #expect(c[2].role == .candidate && c[2].term == 2)
        c[2].step(message(.heartbeat, from: 3, to: 2, term: 2))
        #expect(c[2].role == .follower && c[2].leader == 3)
    }

    @Test func electionSafetyWithSplitVote() {
        var c = TestCluster(size: 3) { $0.preVote = false }
        c.stabilize()
        c[1].campaignNow()
        c[2].campaignNow()
        c.stabilize()
        // Both campaigned in term 2; node 3 granted one vote, so at most one leader in term 2.
        let leadersInTerm2 = c.ids.filter { c[$0].role == .leader && c[$0].term == 2 }
        #expect(leadersInTerm2.count <= 1)
    }

    // MARK: Leaders

    @Test func newLeaderAppendsNoopAndKeepsItsLog() {
        var c = TestCluster(logs: [[2, 2], [2], [2]], terms: [2, 2, 2])
        c.elect(1)
        #expect(c[1].role == .leader)
        #expect(c.terms(1) == [1, 2, 2, 3], "the leader only appends (a no-op of its term)")
        #expect(c.terms(2) == [1, 2, 2, 3] && c.terms(3) == [1, 2, 2, 3])
        #expect(c[1].commitIndex == 4)
    }

    @Test func leaderOverwritesFollowerConflicts() {
        var c = TestCluster(logs: [[2, 2], [3, 3, 3], [2]], terms: [3, 3, 3])
        // Node 1 cannot win (node 2's log is newer) without pre-vote help; elect node 2.
        c.elect(2)
        #expect(c[2].role == .leader)
        #expect(c.terms(1) == [1, 3, 3, 3, 4] && c.terms(3) == c.terms(2))
    }

    /// §5.4.2 and Figure 8: an entry from an earlier term is not committed by counting replicas,
    /// only together with an entry of the leader's own term.
    @Test func commitsOnlyCurrentTermEntriesByCounting() {
        // Node 1 holds index 2 from term 2, like S1 in Figure 8 (c); node 5 holds a term-3 entry
        // there and could still win an election, so index 2 is not safe on a majority alone.
        var c = TestCluster(logs: [[2], [2], [], [], [3]], terms: [3, 3, 3, 3, 3])
        c.partition([1, 2, 3], [4, 5])
        c.electHoldingAppends(1)  // followers never see the new leader's no-op (index 3, term 4)
        #expect(c[1].role == .leader && c[1].term == 4)
        c.network = []
        // Nodes 2 and 3 acknowledge index 2: the term-2 entry is now on 3 of 5 nodes.
        c[1].step(message(.appendResponse, from: 2, to: 1, term: 4, index: 2))
        c[1].step(message(.appendResponse, from: 3, to: 1, term: 4, index: 2))
        #expect(c[1].commitIndex == 1, "index 2 is on a majority but from an old term: not committed")
        c[1].step(message(.appendResponse, from: 3, to: 1, term: 4, index: 3))
        #expect(c[1].commitIndex == 1, "the no-op is on 2 of 5 nodes")
        c[1].step(message(.appendResponse, from: 2, to: 1, term: 4, index: 3))
        #expect(c[1].commitIndex == 3, "the term-4 no-op commits on a majority, and index 2 with it")
    }

    @Test func leaderCountsItsOwnEntriesOnlyOncePersisted() throws {
        var c = TestCluster(size: 1)
        c.stabilize()
        c.elect(1)
        try c.propose(1, "x")
        #expect(c[1].commitIndex == 3 - 1, "the proposal is not committed before the shell persists it")
        let rd = c[1].ready()
        #expect(rd.entries.map(\.index) == [3] && rd.committedEntries.isEmpty)
        c.storages[1]!.append(rd.entries)
        c[1].advance(rd)
        #expect(c[1].commitIndex == 3)
    }

    @Test func heartbeatNeverCommitsBeyondFollowerMatch() {
        var c = TestCluster(size: 3)
        c.elect(1)
        c.partition([1], [3])
        for _ in 0..<3 { _ = try? c.propose(1, "p") }
        c.stabilize()
        c.tick(1)
        let hb = c.network.filter { $0.kind == .heartbeat && $0.to == 2 }
        #expect(hb.allSatisfy { $0.commit <= c[1].commitIndex })
        c.processReady(1)
        let toThree = c[1].progress[3]!
        #expect(toThree.match == 2)
    }
}
