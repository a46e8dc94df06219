/// A node's identity inside one Raft group. Zero is reserved for "nobody".
public typealias NodeID = UInt64

/// What an entry carries. A no-op is a `.normal` entry with empty data (a new leader appends one).
public enum EntryKind: UInt8, Sendable, Equatable {
    case normal
    /// `data` is an encoded `ConfState`: the whole membership that takes effect once appended.
    case configuration
}

/// One log entry. `index` and `term` are assigned by the leader that appended it.
public struct Entry: Sendable, Equatable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Size charged against byte limits: the payload plus a fixed overhead, so empty entries are
    /// not free and every count-free bound is still a bound.
    var byteCount: Int { data.count + 24 }
}

/// State that must be on stable storage before any message that depends on it is sent.
public struct HardState: Sendable, Equatable {
    public var term: UInt64
    /// Whom this node voted for in `term`; 0 when it has not voted.
    public var vote: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The role of a node. See the state diagram in `RaftNode.swift`.
public enum Role: String, Sendable, Equatable {
    case follower, preCandidate, candidate, leader
}

/// Volatile state worth telling the shell about when it changes (who leads, what we are).
public struct SoftState: Sendable, Equatable {
    /// The leader this node believes in, 0 when unknown.
    public var leader: NodeID
    public var role: Role
}

/// A group's membership: voters decide elections and commits, learners only receive the log.
public struct ConfState: Sendable, Equatable {
    public var voters: [NodeID]
    public var learners: [NodeID]

    public init(voters: [NodeID], learners: [NodeID] = []) {
        self.voters = voters.sorted()
        self.learners = learners.sorted()
    }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func isMember(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }
    var members: [NodeID] { (voters + learners).sorted() }
    var quorum: Int { voters.count / 2 + 1 }
}

/// Identifies the state-machine state a snapshot holds: everything applied through `index`.
public struct SnapshotMetadata: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var conf: ConfState

    public init(index: UInt64, term: UInt64, conf: ConfState) {
        self.index = index
        self.term = term
        self.conf = conf
    }
}

/// A state-machine snapshot as Raft moves it around; `data` is opaque to the core.
public struct Snapshot: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}

/// A linearizable read the leader has confirmed: it may be served once the state machine has
/// applied through `index`. `context` is the caller's request id, echoed back unchanged.
public struct ReadState: Sendable, Equatable {
    public var index: UInt64
    public var context: [UInt8]
}

/// A membership change proposed by the leader: one server at a time.
public enum MembershipChange: Sendable, Equatable {
    case addVoter(NodeID)
    case addLearner(NodeID)
    case remove(NodeID)
}

/// Why the core refused a request. None of these is fatal; the caller may retry.
public enum RaftError: Error, Sendable, Equatable {
    /// This node is not the leader; `leader` is the one it believes in (0 when unknown).
    case notLeader(leader: NodeID)
    /// Too many uncommitted bytes, pending reads or similar: retry later.
    case busy
    /// The entry is larger than `RaftConfig.entryBytesMax`: it will never fit, do not retry.
    case entryTooLarge
    /// A leadership transfer is under way; proposals wait for the new leader.
    case transferInProgress
    /// A membership change is still uncommitted; only one may be in flight.
    case membershipChangePending
    /// The change makes no sense for the current membership (already a voter, last voter...).
    case invalidMembershipChange
    /// The transfer target is not a voter, or is this node.
    case invalidTransferTarget
}
