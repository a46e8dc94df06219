import Testing
@testable import Raft

/// Messages no correct member sends: each is dropped and counted by reason, the node keeps its
/// state and stays up (every one of these stopped the process with a precondition failure).
@Suite struct RaftValidationTests {
    static func stableCluster() -> TestCluster {
        var c = TestCluster(size: 3)
        c.stabilize()
        c.elect(1)
        c.stabilize()
        return c
    }

    /// Steps `m` into node `id` and checks it was dropped for `reason` without changing the log.
    static func expectDropped(_ c: inout TestCluster, _ id: NodeID, _ m: Message, _ reason: InvalidMessage,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let before = (c[id].lastIndex, c[id].commitIndex, c[id].term, c[id].role)
        c[id].step(m)
        #expect(c[id].invalidMessageCounts[reason] == 1, "\(c[id].invalidMessageCounts)", sourceLocation: sourceLocation)
        #expect(c[id].invalidMessageCount == 1, sourceLocation: sourceLocation)
        let after = (c[id].lastIndex, c[id].commitIndex, c[id].term, c[id].role)
        #expect(before == after, sourceLocation: sourceLocation)
        c.processReady(id)
    }

    @Test func aHeartbeatAddressedToAnotherNode() {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 2, message(.heartbeat, from: 1, to: 3, term: 2, commit: 1), .misaddressed)
        Self.expectDropped(&c, 3, message(.heartbeat, from: 3, to: 3, term: 2), .misaddressed)
    }

    @Test func anAppendWhoseIndexJumpsAheadOfTheLog() {
        var c = Self.stableCluster()
        let last = c[2].lastIndex
        let m = message(.append, from: 1, to: 2, term: 2, index: last, logTerm: 2, commit: last, entries: [(2, last + 5)])
        Self.expectDropped(&c, 2, m, .entriesOutOfOrder)
    }

    @Test func anAppendCarryingAMalformedConfigurationEntry() {
        var c = Self.stableCluster()
        let last = c[2].lastIndex
        for data in [[1, 2, 3], ConfState(voters: []).encoded(), ConfState(voters: [1, 2]).encoded() + [0]] as [[UInt8]] {
            var m = message(.append, from: 1, to: 2, term: 2, index: last, logTerm: 2)
            m.entries = [Entry(term: 2, index: last + 1, kind: .configuration, data: data)]
            c[2].invalidMessageCounts = [:]
            Self.expectDropped(&c, 2, m, .malformedConfiguration)
        }
    }

    @Test func anAppendOverTheEntrySizeLimit() {
        var c = Self.stableCluster()
        let last = c[2].lastIndex
        var m = message(.append, from: 1, to: 2, term: 2, index: last, logTerm: 2)
        m.entries = [Entry(term: 2, index: last + 1, data: [UInt8](repeating: 0, count: c[2].config.entryBytesMax + 1))]
        Self.expectDropped(&c, 2, m, .entryTooLarge)
    }

    @Test func aSecondLeaderInOneTerm() {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 2, message(.heartbeat, from: 3, to: 2, term: 2), .secondLeader)
        #expect(c[2].leader == 1)
    }

    @Test func anAcknowledgementOfEntriesNeverSent() {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 1, message(.appendResponse, from: 2, to: 1, term: 2, index: 1_000), .acknowledgesUnsentEntries)
        #expect(c[1].role == .leader)
    }

    /// A rejection whose index and hint lie past the leader's log: the leader computed
    /// `hint + 1` on the peer's `UInt64.max` and stopped with an overflow.
    @Test func aRejectionPastTheEndOfTheLog() {
        var c = Self.stableCluster()
        var m = message(.appendResponse, from: 2, to: 1, term: 2, index: .max)
        (m.reject, m.rejectHint) = (true, .max)
        Self.expectDropped(&c, 1, m, .acknowledgesUnsentEntries)
        var beyondIndex = message(.appendResponse, from: 2, to: 1, term: 2, index: c[1].lastIndex)
        (beyondIndex.reject, beyondIndex.rejectHint) = (true, c[1].lastIndex + 1)
        c[1].invalidMessageCounts = [:]
        Self.expectDropped(&c, 1, beyondIndex, .acknowledgesUnsentEntries)
        #expect(c[1].role == .leader)
    }

    /// A message whose term is far ahead of any election: taken as is, the node reached the
    /// last term and stopped with an overflow at its next campaign (`term + 1`), every time it
    /// started again, since the term is persisted.
    @Test func aTermNoElectionReaches() throws {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 2, message(.heartbeat, from: 1, to: 2, term: .max), .termTooFar)
        c[3].invalidMessageCounts = [:]
        Self.expectDropped(&c, 3, message(.vote, from: 2, to: 3, term: .max - 1, index: 1_000, logTerm: 1_000), .termTooFar)
        c.tick(2, times: 2 * c[2].config.electionTicksMax)
        c.stabilize()
        try c.propose(1, "after")
        c.stabilize()
        #expect(c.applied[2]!.contains("after"))
    }

    /// A node already at the last term (a store written before terms were bounded) does not
    /// campaign: `term + 1` would overflow.
    @Test func aNodeAtTheLastTermDoesNotCampaign() {
        var c = Self.stableCluster()
        c[2].becomeFollower(term: .max, leader: 0)
        c[2].campaignNow()
        #expect(c[2].role == .follower && c[2].term == .max)
    }

    /// A snapshot at the last index: installing it computed `index + 1` and overflowed.
    @Test func aSnapshotAtTheLastIndex() {
        var c = Self.stableCluster()
        var m = message(.snapshot, from: 1, to: 2, term: 2)
        m.snapshot = Snapshot(metadata: SnapshotMetadata(index: .max, term: 2, conf: ConfState(voters: [1, 2, 3])), data: [])
        Self.expectDropped(&c, 2, m, .malformedSnapshot)
    }

    @Test func snapshotsWithoutContentOrMembers() {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 2, message(.snapshot, from: 1, to: 2, term: 2), .malformedSnapshot)
        var empty = message(.snapshot, from: 1, to: 2, term: 2)
        empty.snapshot = Snapshot(metadata: SnapshotMetadata(index: 50, term: 2, conf: ConfState(voters: [])), data: [])
        c[2].invalidMessageCounts = [:]
        Self.expectDropped(&c, 2, empty, .malformedConfiguration)
    }

    @Test func timeoutNowFromANodeThatDoesNotLead() {
        var c = Self.stableCluster()
        Self.expectDropped(&c, 2, message(.timeoutNow, from: 3, to: 2, term: 2), .timeoutNowNotFromLeader)
        c.stabilize()
        #expect(c[1].role == .leader && c[1].term == 2)
    }

    /// Forced vote requests (the leadership-transfer flag) from a member the leader is not
    /// handing over to, again and again with rising terms: they wait out the lease like any
    /// candidate, so the leader stays and writes commit. (They held the group leaderless.)
    @Test func aStormOfForcedVoteRequestsDoesNotDeposeTheLeader() throws {
        var c = Self.stableCluster()
        for round in 0..<40 {
            for target: NodeID in [1, 2] {
                var m = message(.vote, from: 3, to: target, term: c[target].term + 1, index: 1_000, logTerm: 1_000)
                m.force = true
                c[target].step(m)
            }
            c.tickAll()
            try c.propose(1, "w\(round)")
            c.stabilize()
        }
        #expect(c[1].role == .leader && c[1].term == 2)
        #expect(c.applied[2]!.filter { $0.hasPrefix("w") }.count == 40)
    }

    /// The real transfer still overrides the lease: the leader announces its target first.
    @Test func aTransferTargetIsAnnouncedToTheVoters() throws {
        var c = Self.stableCluster()
        try c[1].transferLeadership(to: 3)
        c.processReady(1)
        let announced = c.network.filter { $0.kind == .heartbeat && $0.to == 2 }
        #expect(announced.last?.transferee == 3)
        c.stabilize()
        #expect(c[3].role == .leader && c[3].term == 3)
    }

    /// Seeded random messages, plausible enough to reach the handlers, into a leader and a
    /// follower: whatever a peer sends, the node keeps running and its log stays a log.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomMessagesNeverStopANode(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var c = Self.stableCluster()
        for i in 0..<3_000 {
            let target: NodeID = i % 2 == 0 ? 1 : 2
            c[target].step(Self.randomMessage(to: target, around: c[target], using: &rng))
            c.processReady(target)
            c.network.removeAll()
            if i % 100 == 0 { try? c.propose(1, "p\(i)") }
            let node = c[target]
            #expect(node.appliedIndex <= node.commitIndex && node.commitIndex <= node.lastIndex)
        }
    }

    static func randomMessage(to target: NodeID, around node: RaftNode, using rng: inout SplitMix64) -> Message {
        let kinds: [MessageKind] = [.preVote, .preVoteResponse, .vote, .voteResponse, .append, .appendResponse,
                                    .heartbeat, .heartbeatResponse, .snapshot, .timeoutNow]
        // Now and then a value at either end of the range: sums on those overflowed.
        func near(_ v: UInt64) -> UInt64 {
            if Int.random(in: 0..<25, using: &rng) == 0 { return [0, 1, .max - 1, .max].randomElement(using: &rng)! }
            return UInt64.random(in: (v > 3 ? v - 3 : 0)...(v > .max - 3 ? .max : v + 3), using: &rng)
        }
        var m = Message(kind: kinds.randomElement(using: &rng)!, from: [0, 1, 2, 3, 9].randomElement(using: &rng)!,
                        to: Int.random(in: 0..<10, using: &rng) == 0 ? 9 : target, term: near(node.term))
        (m.index, m.logTerm, m.commit) = (near(node.lastIndex), near(node.term), near(node.lastIndex + 2))
        (m.reject, m.force, m.rejectHint) = (Bool.random(using: &rng), Bool.random(using: &rng), near(node.lastIndex))
        if m.kind == .append {
            let contiguous = Bool.random(using: &rng)
            m.entries = (0..<Int.random(in: 0...3, using: &rng)).map { k in
                let index = contiguous ? m.index &+ UInt64(k) &+ 1 : near(m.index &+ 1)
                let kind: EntryKind = Int.random(in: 0..<4, using: &rng) == 0 ? .configuration : .normal
                let data = kind == .configuration && Bool.random(using: &rng)
                    ? ConfState(voters: [1, 2, 3]).encoded() : (0..<Int.random(in: 0...9, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                return Entry(term: min(m.term, m.logTerm &+ UInt64(k)), index: index, kind: kind, data: data)
            }
        }
        if m.kind == .snapshot && Bool.random(using: &rng) {
            m.snapshot = Snapshot(metadata: SnapshotMetadata(index: near(node.lastIndex &+ 2), term: near(m.term),
                                                             conf: ConfState(voters: Bool.random(using: &rng) ? [1, 2, 3] : [])), data: [])
        }
        return m
    }
}
