/// Why a peer's message was dropped before it changed anything.
///
/// Raft's own rules deal with messages that are late, duplicated or out of date (a lower term,
/// a `prevLogIndex` the log does not hold); those are answered as the paper says. The reasons
/// here are for messages no correct member sends: a bug in another build, a damaged frame that
/// passed its checks, or a peer whose credentials were stolen. Each is dropped and counted
/// (`invalidMessageCounts`), never trusted and never a crash: the node stays up and keeps its
/// state, and the group carries on as if the message had been lost. Preconditions stay for this
/// node's own invariants only.
public enum InvalidMessage: String, Sendable, CaseIterable {
    /// Addressed to another node, or from nobody (node 0) or from this node itself.
    case misaddressed
    /// An append whose entries do not follow `prevLogIndex` one by one, or whose terms go back,
    /// come before `prevLogTerm` or exceed the sender's term.
    case entriesOutOfOrder
    /// An entry larger than `RaftConfig.entryBytesMax`, which storage could not take.
    case entryTooLarge
    /// A configuration entry (or a snapshot's membership) that does not decode, or has no voter.
    case malformedConfiguration
    /// An append, heartbeat or snapshot from a node other than the leader this node follows in
    /// the same term: there is at most one leader per term.
    case secondLeader
    /// A snapshot message without a snapshot, or whose index (0, or past `indexMax`) or term
    /// is impossible.
    case malformedSnapshot
    /// An answer to an append about entries past the end of the leader's log, or a rejection
    /// whose hint lies past the index it rejects (followers hint at or before it).
    case acknowledgesUnsentEntries
    /// `timeoutNow` from a node that is not this node's leader.
    case timeoutNowNotFromLeader
    /// A term more than `RaftConfig.termJumpMax` past this node's: no run of elections gets
    /// there, and a node that took it would come close to the last term, where `term + 1`
    /// overflows.
    case termTooFar
}

extension RaftNode {
    /// Messages dropped as invalid since the node started, by reason.
    public var invalidMessageCount: Int { invalidMessageCounts.values.reduce(0, +) }

    mutating func drop(_ reason: InvalidMessage) {
        invalidMessageCounts[reason, default: 0] += 1
    }

    /// What is wrong with `m` on its face, before any state changes; nil for a well-formed message.
    /// Checks that need the log or the role are made where the message is handled.
    func invalidity(of m: Message) -> InvalidMessage? {
        guard m.to == id, m.from != 0, m.from != id else { return .misaddressed }
        guard m.term <= term || m.term - term <= config.termJumpMax else { return .termTooFar }
        switch m.kind {
        case .append: return invalidity(ofEntries: m)
        case .snapshot:
            guard let snap = m.snapshot, (1...Self.indexMax).contains(snap.metadata.index), snap.metadata.term > 0,
                  snap.metadata.term <= m.term else {
                return .malformedSnapshot
            }
            return snap.metadata.conf.voters.isEmpty ? .malformedConfiguration : nil
        default: return nil
        }
    }

    private func invalidity(ofEntries m: Message) -> InvalidMessage? {
        var previousTerm = m.logTerm
        for (offset, e) in m.entries.enumerated() {
            let (expected, overflow) = m.index.addingReportingOverflow(UInt64(offset) + 1)
            guard !overflow, e.index == expected, e.term >= previousTerm, e.term <= m.term else { return .entriesOutOfOrder }
            previousTerm = e.term
            guard e.data.count <= config.entryBytesMax else { return .entryTooLarge }
            if e.kind == .configuration {
                guard let conf = ConfState(validating: e.data), !conf.voters.isEmpty else { return .malformedConfiguration }
            }
        }
        return nil
    }

    /// The highest log index a peer's snapshot may put this node at: no log gets near it, and
    /// the indexes past it stay free for `index + 1` (a snapshot at `UInt64.max` overflowed).
    static let indexMax: UInt64 = 1 << 62

    /// Whether an append's answer speaks of entries this leader never had.
    func answersUnsentEntries(_ m: Message) -> Bool {
        m.kind == .appendResponse && (m.index > log.lastIndex || (m.reject && m.rejectHint > m.index))
    }

    /// Whether a vote request may override this node's leader lease: only a `force`d request
    /// (sent after `timeoutNow`) from the node the leader is handing over to. The leader knows
    /// its own target; a follower learns it from the leader's heartbeats and appends (thesis
    /// §3.10). Anyone else asking to skip the lease — a member that is not the target, or a
    /// storm of forced requests — is treated as an ordinary candidate and waits out the lease.
    func mayOverrideLease(_ m: Message) -> Bool {
        guard m.force else { return false }
        return role == .leader ? m.from == transferTarget && transferTarget != 0
                               : m.from == announcedTransferee && announcedTransferee != 0
    }
}

extension ConfState {
    /// Decodes `encoded()`, or nil when `bytes` is not exactly one well-formed configuration
    /// (bytes from a peer are checked with this before anything trusts them).
    public init?(validating bytes: [UInt8]) {
        var at = 0
        func next() -> UInt64? {
            guard at + 8 <= bytes.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        guard let voterCount = next(), voterCount <= Self.membersMax else { return nil }
        var voters: [NodeID] = []
        for _ in 0..<voterCount { guard let v = next() else { return nil }; voters.append(v) }
        guard let learnerCount = next(), learnerCount <= Self.membersMax else { return nil }
        var learners: [NodeID] = []
        for _ in 0..<learnerCount { guard let v = next() else { return nil }; learners.append(v) }
        guard at == bytes.count, !(voters + learners).contains(0), Set(voters + learners).count == voters.count + learners.count
        else { return nil }
        self.init(voters: voters, learners: learners)
    }

    /// The most voters, and the most learners, one configuration may list.
    static let membersMax: UInt64 = 1_000
}
