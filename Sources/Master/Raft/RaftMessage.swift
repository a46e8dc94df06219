/// What a message is. Requests and their responses are separate kinds, as in the Raft paper.
public enum MessageKind: String, Sendable, Equatable {
    case preVote, preVoteResponse
    case vote, voteResponse
    case append, appendResponse
    case heartbeat, heartbeatResponse
    case snapshot
    /// Sent by a leader to its transfer target: start an election now, skipping pre-vote.
    case timeoutNow
}

/// A message between nodes. One flat struct keeps the wire codec small; each kind documents
/// which fields it uses.
public struct Message: Sendable, Equatable {
    public var kind: MessageKind
    public var from: NodeID
    public var to: NodeID
    /// The sender's term; for a pre-vote request, the term the sender would campaign in.
    public var term: UInt64
    /// append: term of the entry at `index` (prevLogTerm). vote/preVote: last log term.
    /// appendResponse (reject): term of the entry at `rejectHint` in the follower's log.
    public var logTerm: UInt64 = 0
    /// append: prevLogIndex. vote/preVote: last log index. appendResponse: the last index
    /// matched (success) or the rejected prevLogIndex (reject).
    public var index: UInt64 = 0
    /// append: the entries after `index`.
    public var entries: [Entry] = []
    /// append/heartbeat: the leader's commit index (heartbeats clip it to the follower's match).
    public var commit: UInt64 = 0
    /// Responses: true when the request was refused.
    public var reject: Bool = false
    /// appendResponse (reject): the follower's suggestion for where the logs may agree.
    public var rejectHint: UInt64 = 0
    /// snapshot: the snapshot to install.
    public var snapshot: Snapshot? = nil
    /// heartbeat/heartbeatResponse: the read-index context being confirmed, if any.
    public var context: [UInt8] = []
    /// vote: set by a leadership transfer so voters ignore their leader lease (only when the
    /// sender is the transfer target its leader announced; see `transferee`).
    public var force: Bool = false
    /// append/heartbeat: the leader's leadership-transfer target, 0 when none.
    public var transferee: NodeID = 0

    public init(kind: MessageKind, from: NodeID, to: NodeID, term: UInt64) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
    }

    var isRequestForVote: Bool { kind == .vote || kind == .preVote }
    public var isFromLeader: Bool { kind == .append || kind == .heartbeat || kind == .snapshot }
}
