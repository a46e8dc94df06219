/// # The Raft core
///
/// `RaftNode` is one member of a Raft group as a pure value: no I/O, no clock, no threads, no
/// system randomness. The shell around it feeds it time (`tick()`), messages (`step(_:)`) and
/// requests (`propose`, `readIndex`, `transferLeadership`, `proposeMembershipChange`), then
/// collects what to do with `ready()` and reports it done with `advance(_:)` — the design of
/// etcd's raft library, written afresh in Swift.
///
/// ## Roles
///
///                timeout          quorum of pre-votes       quorum of votes
///   ┌──────────┐ ──────► ┌──────────────┐ ──────► ┌───────────┐ ──────► ┌────────┐
///   │ follower │         │ preCandidate │ ◄────── │ candidate │         │ leader │
///   └──────────┘         └──────────────┘ timeout └───────────┘         └────────┘
///     │   ▲                      │                      │                   │
///     │   └──────────────────────┴──────────────────────┴───────────────────┘
///     │     back to follower: a higher term; a leader's message; a quorum of rejections;
///     │     a leader's CheckQuorum failure, or its own removal from the membership committed
///     └─────────────── timeoutNow (leadership transfer: skip the pre-vote) ───► candidate
///
/// A pre-candidate asks "would you vote for me in term+1?" without changing any term, so a node
/// that was cut off cannot force an election when it rejoins (Raft thesis §9.6). Nodes that
/// heard from a leader within `electionTicksMin` ignore vote requests (the leader lease), and a
/// leader that has not heard from a quorum in that time steps down (CheckQuorum).
///
/// ## What the core guarantees
/// - Election safety: one vote per term, persisted before the vote is sent.
/// - Commitment (§5.4.2): a leader advances the commit index only to an entry of its own term
///   that a quorum of voters has *persisted* — the leader counts itself only once the shell
///   has persisted its own entries (`advance`), so a commit never rests on unsynced data.
/// - Membership (thesis §4): one server added or removed at a time; a configuration entry takes
///   effect as soon as it is appended and is rolled back if truncated; a second change is refused
///   until the first commits.
///
/// ## Limits
/// Every queue is bounded by `RaftConfig`: uncommitted bytes, entries and bytes per append,
/// the inflight window per follower, messages and applied bytes per `Ready`, pending reads.
/// Broken invariants stop the process (`precondition`).
public struct RaftNode: Sendable {
    public let config: RaftConfig
    public var id: NodeID { config.id }
    public internal(set) var term: UInt64 = 0
    /// Whom this node voted for in `term`, 0 for nobody.
    public internal(set) var vote: NodeID = 0
    public internal(set) var role: Role = .follower
    /// The leader this node believes in for `term`, 0 when unknown.
    public internal(set) var leader: NodeID = 0

    var log: RaftLog
    /// Membership as of the last configuration entry in the log (or the snapshot).
    var membership: MembershipLog
    var progress: [NodeID: Progress] = [:]
    var votes: [NodeID: Bool] = [:]

    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTicks = 0
    var rng: SplitMix64

    var outbox: [Message] = []
    /// Messages dropped because the outbox was full; Raft's retries cover them.
    public internal(set) var droppedMessageCount = 0
    /// Peer messages dropped as invalid, by reason (see `InvalidMessage`).
    public internal(set) var invalidMessageCounts: [InvalidMessage: Int] = [:]

    /// Leader only: the transfer target, 0 when no transfer is under way.
    var transferTarget: NodeID = 0
    /// Follower only: the transfer target the leader announced in its last message, 0 for none.
    var announcedTransferee: NodeID = 0
    /// Leader only: index of the last configuration entry (refuse a new change until committed).
    var pendingConfIndex: UInt64 = 0
    /// Leader only: (index, bytes) of entries appended in this term and not yet committed.
    var uncommitted: [(index: UInt64, bytes: Int)] = []
    var uncommittedBytes = 0
    var reads = ReadQueue()

    var lastHardState: HardState
    var lastSoftState: SoftState
    var awaitingAdvance = false

    /// Starts (or restarts) a node from what `storage` holds.
    ///
    /// `applied` is how far the shell's state machine already is; by default the snapshot index,
    /// meaning the shell restores its state machine from `storage.snapshot()` before driving the
    /// node and then applies the committed entries the node hands back.
    public init(config: RaftConfig, storage: any RaftLogStorage, applied: UInt64? = nil) {
        config.validate()
        self.config = config
        rng = SplitMix64(seed: config.seed)
        let hard = storage.hardState()
        let snapshot = storage.snapshot()
        let snapshotIndex = snapshot?.metadata.index ?? 0
        log = RaftLog(storage: storage, committed: hard.commit, applied: max(applied ?? 0, snapshotIndex))
        membership = MembershipLog(base: snapshot?.metadata.conf ?? ConfState(voters: []), baseIndex: snapshotIndex)
        membership.scan(storage: storage)
        term = hard.term
        vote = hard.vote
        lastHardState = hard
        lastSoftState = SoftState(leader: 0, role: .follower)
        if storage.lastIndex == 0 && snapshot == nil && hard == HardState() && !config.initialVoters.isEmpty {
            bootstrap()
        }
        becomeFollower(term: term, leader: 0)
    }

    /// A fresh group's first entry: every initial member writes the same configuration entry at
    /// index 1, term 1, already committed, so no election is needed to agree on membership.
    private mutating func bootstrap() {
        term = 1
        let entry = Entry(term: 1, index: 1, kind: .configuration, data: ConfState(voters: config.initialVoters).encoded())
        log.append([entry])
        log.commit(to: 1)
        noteAppended([entry])
    }

    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    public var softState: SoftState { SoftState(leader: leader, role: role) }
    public var conf: ConfState { membership.current }
    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    /// Whether the last configuration entry in the log is not committed yet (a new change would
    /// be refused).
    public var membershipChangePending: Bool { membership.lastIndex > log.committed }
    /// Leader only: the highest index `peer` is known to have persisted; nil on a follower or for
    /// a peer that is not a member. The shell uses it to promote a caught-up learner and to pick
    /// a transfer target.
    public func matchIndex(of peer: NodeID) -> UInt64? {
        role == .leader ? progress[peer]?.match : nil
    }
    /// Term of the entry at `index`, nil when compacted or absent (for tests and the shell).
    public func term(at index: UInt64) -> UInt64? { log.term(at: index) }
    /// Entries in `lo...hi` still in the log (for tests and debugging tools).
    public func entries(_ lo: UInt64, _ hi: UInt64) -> [Entry] {
        log.entries(from: lo, to: hi + 1, maxBytes: Int.max) ?? []
    }

    var isPromotable: Bool { membership.current.isVoter(id) && log.pendingSnapshot == nil }
    var quorum: Int { membership.current.quorum }

    // MARK: Time

    /// Advances logical time by one tick. Followers and candidates start an election after their
    /// randomised timeout; a leader sends heartbeats and runs CheckQuorum.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickElection() }
    }

    private mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTicks {
            electionElapsed = 0
            campaign(config.preVote ? .preVote : .election)
        }
    }

    private mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTicksMin {
            electionElapsed = 0
            if config.checkQuorum && !quorumWasActive() {
                becomeFollower(term: term, leader: 0)
                return
            }
            transferTarget = 0  // a transfer that took a whole election timeout has failed
        }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat(context: reads.latestContext)
        }
    }

    /// Whether a quorum of voters was heard from since the last call; resets the marks.
    private mutating func quorumWasActive() -> Bool {
        var active = 0
        for (peer, _) in progress {
            if peer == id || progress[peer]!.recentActive {
                if membership.current.isVoter(peer) { active += 1 }
            }
            progress[peer]!.recentActive = peer == id
        }
        return active >= quorum
    }

    // MARK: Messages

    /// Handles a message from a peer. Messages from old terms or unknown peers are answered or
    /// ignored as Raft requires; messages no correct peer sends are dropped and counted
    /// (`invalidMessageCounts`) before they change anything.
    public mutating func step(_ m: Message) {
        if let reason = invalidity(of: m) { return drop(reason) }
        if m.term > term {
            guard stepHigherTerm(m) else { return }
        } else if m.term < term {
            stepLowerTerm(m)
            return
        }
        switch m.kind {
        case .preVote, .vote: handleVoteRequest(m)
        default:
            switch role {
            case .leader: stepLeader(m)
            case .candidate, .preCandidate: stepCandidate(m)
            case .follower: stepFollower(m)
            }
        }
    }

    /// A message from a later term. Returns false when it is to be ignored.
    private mutating func stepHigherTerm(_ m: Message) -> Bool {
        if m.isRequestForVote {
            let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTicksMin
            if inLease && !mayOverrideLease(m) { return false }
        }
        // A pre-vote request, or a granted pre-vote, carries a term nobody is in yet.
        if m.kind == .preVote || (m.kind == .preVoteResponse && !m.reject) { return true }
        becomeFollower(term: m.term, leader: m.isFromLeader ? m.from : 0)
        return true
    }

    /// A message from an earlier term. With CheckQuorum or pre-vote a stale leader may never see
    /// a higher term otherwise (its followers ignore it), so tell it ours.
    private mutating func stepLowerTerm(_ m: Message) {
        if (config.checkQuorum || config.preVote) && (m.kind == .append || m.kind == .heartbeat) {
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term))
        } else if m.kind == .preVote {
            var r = Message(kind: .preVoteResponse, from: id, to: m.from, term: term)
            r.reject = true
            send(r)
        }
    }

    private mutating func stepFollower(_ m: Message) {
        switch m.kind {
        case .append, .heartbeat, .snapshot:
            if leader != 0 && leader != m.from { return drop(.secondLeader) }
            electionElapsed = 0
            leader = m.from
            if m.kind != .snapshot { announcedTransferee = m.transferee }
            if m.kind == .append { handleAppend(m) } else if m.kind == .heartbeat { handleHeartbeat(m) } else { handleSnapshot(m) }
        case .timeoutNow:
            guard m.from == leader else { return drop(.timeoutNowNotFromLeader) }
            if isPromotable { campaign(.transfer) }
        default:
            break
        }
    }

    private mutating func stepCandidate(_ m: Message) {
        switch m.kind {
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: m.term, leader: m.from)
            stepFollower(m)
        case .preVoteResponse where role == .preCandidate, .voteResponse where role == .candidate:
            votes[m.from] = !m.reject
            tallyVotes()
        default:
            break
        }
    }

    func makeMessage(_ kind: MessageKind, to: NodeID) -> Message {
        Message(kind: kind, from: id, to: to, term: term)
    }

    /// Queues a message for the next `Ready`. Past `readyMessagesMax` it is dropped: Raft
    /// tolerates loss, and the outbox stays bounded.
    mutating func send(_ m: Message) {
        guard outbox.count < config.readyMessagesMax else {
            droppedMessageCount += 1
            return
        }
        outbox.append(m)
    }
}
