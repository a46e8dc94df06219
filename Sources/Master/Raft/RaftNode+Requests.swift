/// Reads waiting for the leader to confirm it still leads, and confirmed reads waiting for the
/// state machine to catch up.
struct ReadQueue: Sendable, Equatable {
    struct Pending: Sendable, Equatable {
        var index: UInt64
        var context: [UInt8]
        var acks: Set<NodeID>
    }
    /// Requested before the leader committed an entry of its term (its commit index may lag).
    var waitingForCommit: [[UInt8]] = []
    /// Waiting for a quorum of heartbeat responses, oldest first.
    var pending: [Pending] = []
    /// Confirmed; handed out once the applied index reaches theirs.
    var confirmed: [ReadState] = []

    var count: Int { waitingForCommit.count + pending.count + confirmed.count }
    var latestContext: [UInt8] { pending.last?.context ?? [] }
}

extension RaftNode {
    // MARK: Proposals

    /// Appends `data` as a new entry (leader only) and returns its index and term. The entry is
    /// committed when `Ready.committedEntries` hands back an entry with that index *and* term;
    /// a different term at that index means it was lost to a leader change.
    @discardableResult
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> (index: UInt64, term: UInt64) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferTarget == 0 else { throw .transferInProgress }
        guard data.count <= config.entryBytesMax else { throw .entryTooLarge }
        let entry = Entry(term: term, index: 0, data: data)
        try checkRoom(bytes: entry.byteCount)
        appendLocal([entry])
        return (log.lastIndex, term)
    }

    /// Appends several entries at once (leader only): one append per follower carries them all,
    /// instead of one per entry. Entries past the uncommitted-bytes limit, or over
    /// `entryBytesMax`, are refused; the
    /// result has one element per datum, in order: its index and term, or nil when refused.
    public mutating func propose(batch: [[UInt8]]) throws(RaftError) -> [(index: UInt64, term: UInt64)?] {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferTarget == 0 else { throw .transferInProgress }
        var accepted: [Entry] = []
        var results: [(index: UInt64, term: UInt64)?] = []
        var bytes = 0
        for data in batch {
            let entry = Entry(term: term, index: 0, data: data)
            let total = uncommittedBytes + bytes
            if data.count > config.entryBytesMax || (total > 0 && total + entry.byteCount > config.uncommittedBytesMax) {
                results.append(nil)
                continue
            }
            bytes += entry.byteCount
            accepted.append(entry)
            results.append((log.lastIndex + UInt64(accepted.count), term))
        }
        if !accepted.isEmpty { appendLocal(accepted) }
        return results
    }

    /// Refuses with `.busy` past the uncommitted-bytes limit (one entry is always allowed, so
    /// an entry larger than the limit is not stuck forever).
    func checkRoom(bytes: Int) throws(RaftError) {
        if uncommittedBytes > 0 && uncommittedBytes + bytes > config.uncommittedBytesMax { throw .busy }
    }

    // MARK: Linearizable reads

    /// Starts a linearizable read (leader only). `context` must be unique among outstanding
    /// reads; it comes back in `Ready.readStates` once a quorum confirmed this node still leads
    /// and the state machine has applied through the commit index recorded now. Reads are
    /// dropped without an answer if leadership is lost (`Ready.softState` says so); the shell
    /// fails or retries them.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard reads.count < config.pendingReadsMax else { throw .busy }
        precondition(!context.isEmpty, "a read needs a non-empty context")
        if log.term(at: log.committed) != term {
            reads.waitingForCommit.append(context)
        } else {
            startRead(context)
        }
    }

    private mutating func startRead(_ context: [UInt8]) {
        if quorum == 1 && membership.current.isVoter(id) {
            reads.confirmed.append(ReadState(index: log.committed, context: context))
            return
        }
        reads.pending.append(.init(index: log.committed, context: context, acks: [id]))
        broadcastHeartbeat(context: context)
    }

    /// The leader committed an entry of its term: its commit index is now current.
    mutating func releaseReadsWaitingForCommit() {
        guard !reads.waitingForCommit.isEmpty, log.term(at: log.committed) == term else { return }
        let waiting = reads.waitingForCommit
        reads.waitingForCommit = []
        for context in waiting { startRead(context) }
    }

    /// A heartbeat response echoed `context`: the peer still follows us. A quorum confirms this
    /// read and every earlier one.
    mutating func acknowledgeRead(context: [UInt8], from peer: NodeID) {
        guard let at = reads.pending.firstIndex(where: { $0.context == context }),
              membership.current.isVoter(peer) else { return }
        reads.pending[at].acks.insert(peer)
        let voters = reads.pending[at].acks.filter { membership.current.isVoter($0) }.count
        guard voters >= quorum else { return }
        for read in reads.pending[...at] {
            reads.confirmed.append(ReadState(index: read.index, context: read.context))
        }
        reads.pending.removeFirst(at + 1)
    }

    // MARK: Leadership transfer

    /// Hands leadership to `target` (leader only): proposals are refused while the target is
    /// caught up, then it is told to campaign at once (`timeoutNow`). Abandoned after an
    /// election timeout.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard target != id, membership.current.isVoter(target), progress[target] != nil else {
            throw .invalidTransferTarget
        }
        if transferTarget == target { return }
        transferTarget = target
        electionElapsed = 0
        // The voters learn the target first: they let only it override their leader lease.
        broadcastHeartbeat(context: reads.latestContext)
        if progress[target]!.match == log.lastIndex {
            send(makeMessage(.timeoutNow, to: target))
        } else {
            sendAppend(to: target, evenIfEmpty: true)
        }
    }

    /// Starts an election now, as if the election timeout had passed (tests and operators).
    public mutating func campaignNow() {
        guard isPromotable, role != .leader else { return }
        campaign(config.preVote ? .preVote : .election)
    }
}
