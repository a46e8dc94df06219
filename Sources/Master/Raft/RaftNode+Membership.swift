/// Membership as a function of the log: a base (from the snapshot) plus every configuration
/// entry after it. The current membership is the last one appended, committed or not (thesis
/// §4.1); truncating the log rolls it back.
struct MembershipLog: Sendable, Equatable {
    private(set) var base: ConfState
    private(set) var baseIndex: UInt64
    /// Configuration entries after `baseIndex`, in log order.
    private(set) var changes: [(index: UInt64, conf: ConfState)] = []

    init(base: ConfState, baseIndex: UInt64) {
        self.base = base
        self.baseIndex = baseIndex
    }

    var current: ConfState { changes.last?.conf ?? base }
    /// Index of the last configuration entry (or the base).
    var lastIndex: UInt64 { changes.last?.index ?? baseIndex }

    /// Membership in force at `index` (for snapshot metadata).
    func conf(at index: UInt64) -> ConfState {
        changes.last { $0.index <= index }?.conf ?? base
    }

    /// Reads the configuration entries of a restarted node's stable log. Entries the storage
    /// keeps before its snapshot (a catch-up margin) are already part of `base`.
    mutating func scan(storage: any RaftLogStorage) {
        var next = max(storage.firstIndex, baseIndex + 1)
        let last = storage.lastIndex
        while next <= last {
            let batch = storage.entries(from: next, to: last + 1, maxBytes: 4 << 20)
            note(batch)
            next = batch.last!.index + 1
        }
    }

    /// Entries were appended at `entries.first.index`, replacing anything from there on.
    mutating func note(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        changes.removeAll { $0.index >= first.index }
        for e in entries where e.kind == .configuration {
            changes.append((e.index, ConfState(decoding: e.data)))
        }
    }

    mutating func restore(_ meta: SnapshotMetadata) {
        base = meta.conf
        baseIndex = meta.index
        changes = []
    }

    /// The log through `index` was compacted into a snapshot.
    mutating func compact(through index: UInt64) {
        base = conf(at: index)
        baseIndex = max(baseIndex, index)
        changes.removeAll { $0.index <= index }
    }

    static func == (a: MembershipLog, b: MembershipLog) -> Bool {
        a.base == b.base && a.baseIndex == b.baseIndex && a.changes.map(\.index) == b.changes.map(\.index)
    }
}

extension RaftNode {
    /// Proposes adding or removing one server (leader only). The change takes effect on every
    /// node as soon as its entry is appended there. Refused while an earlier change is
    /// uncommitted, and until the leader has committed an entry of its own term (the fix to
    /// single-server changes described on the raft-dev list in 2015).
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferTarget == 0 else { throw .transferInProgress }
        guard pendingConfIndex <= log.committed, log.term(at: log.committed) == term else {
            throw .membershipChangePending
        }
        let now = membership.current
        var voters = now.voters
        var learners = now.learners
        switch change {
        case .addVoter(let n):
            guard n != 0, !now.isVoter(n) else { throw .invalidMembershipChange }
            voters.append(n)
            learners.removeAll { $0 == n }
        case .addLearner(let n):
            guard n != 0, !now.isMember(n) else { throw .invalidMembershipChange }
            learners.append(n)
        case .remove(let n):
            guard now.isMember(n), !(now.isVoter(n) && now.voters.count == 1) else { throw .invalidMembershipChange }
            voters.removeAll { $0 == n }
            learners.removeAll { $0 == n }
        }
        try checkRoom(bytes: 64)
        appendLocal([Entry(term: term, index: 0, kind: .configuration, data: ConfState(voters: voters, learners: learners).encoded())])
        pendingConfIndex = log.lastIndex
    }

    /// Entries were appended to our log: track configuration entries among them.
    mutating func noteAppended(_ entries: [Entry]) {
        let before = membership.current
        membership.note(entries)
        if membership.current != before { applyMembership() }
    }

    /// Brings leader state in line with the current membership.
    mutating func applyMembership() {
        guard role == .leader else { return }
        let conf = membership.current
        for peer in progress.keys where !conf.isMember(peer) {
            progress[peer] = nil
        }
        for peer in conf.members {
            if progress[peer] == nil { progress[peer] = makeProgress(for: peer) }
            progress[peer]!.isLearner = !conf.isVoter(peer)
        }
        if transferTarget != 0 && !conf.isVoter(transferTarget) { transferTarget = 0 }
        // Fewer voters may mean entries already have a quorum.
        if maybeCommit(), role == .leader { broadcastAppend() }
    }

    /// The shell took a snapshot of its state machine through `index` (at most the applied
    /// index). Returns the metadata to store with the snapshot data, or nil when the log no
    /// longer holds `index` (a newer snapshot from the leader is being installed): then the
    /// shell discards its snapshot. Ordering contract: the shell saves the snapshot with this
    /// metadata, then compacts its log storage through `index`; the core reads the new first
    /// index from storage from then on.
    public mutating func snapshotTaken(at index: UInt64) -> SnapshotMetadata? {
        precondition(index <= log.applied, "snapshot at \(index) beyond applied index \(log.applied)")
        guard let t = log.term(at: index) else { return nil }
        let meta = SnapshotMetadata(index: index, term: t, conf: membership.conf(at: index))
        membership.compact(through: index)
        return meta
    }
}

extension ConfState {
    /// Little-endian: voter count, voters, learner count, learners (all UInt64).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for value in [UInt64(voters.count)] + voters + [UInt64(learners.count)] + learners {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Decodes `encoded()` from this node's own log, whose configuration entries were validated
    /// when they arrived (`init?(validating:)`); a malformed one here is a broken invariant.
    public init(decoding bytes: [UInt8]) {
        guard let conf = ConfState(validating: bytes) else { preconditionFailure("malformed configuration entry in the log") }
        self = conf
    }
}
