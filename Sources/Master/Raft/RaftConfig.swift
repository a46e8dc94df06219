/// Tuning and limits for one node. Times are in ticks: the shell calls `tick()` at a fixed
/// period (100 ms by default), so the defaults give a 100 ms heartbeat and a 500–1000 ms
/// randomised election timeout.
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// Membership when the node starts with empty storage. Empty for a node that joins later:
    /// it learns the membership from the leader's log or snapshot.
    public var initialVoters: [NodeID]
    /// Seed for the election-timeout jitter; give each node its own.
    public var seed: UInt64

    public var heartbeatTicks: Int = 1
    /// The election timeout is drawn uniformly from `electionTicksMin...electionTicksMax` each
    /// time it is reset. `electionTicksMin` is also the leader lease and the CheckQuorum period.
    public var electionTicksMin: Int = 5
    public var electionTicksMax: Int = 10
    /// Ask for pre-votes before bumping the term, so a rejoining node cannot depose a leader.
    public var preVote: Bool = true
    /// A leader steps down if it has not heard from a quorum within `electionTicksMin`.
    public var checkQuorum: Bool = true

    /// At most this many entries and bytes in one append message.
    public var appendEntriesMax: Int = 64
    public var appendBytesMax: Int = 1 << 20
    /// Pipelining window per follower: appends sent but not yet acknowledged.
    public var inflightMessagesMax: Int = 64
    public var inflightBytesMax: Int = 8 << 20
    /// The largest entry payload: proposals over it are refused (`.entryTooLarge`) and appends
    /// carrying one are dropped. Below the shell's WAL record limit (4 MiB) with room for the
    /// entry's header, so no member is ever handed an entry it cannot store.
    public var entryBytesMax: Int = 3 << 20
    /// A peer's message may carry a term at most this many terms past this node's; one further
    /// ahead is dropped (`termTooFar`). Elections add one term each, so no correct member gets
    /// near it, and forged terms would need billions of messages, not one, to bring a node near
    /// the last term (where it then stays a follower instead of overflowing `term + 1`).
    public var termJumpMax: UInt64 = 1 << 32
    /// Proposals are refused with `.busy` past this many uncommitted bytes (DESIGN: 64 MiB).
    public var uncommittedBytesMax: Int = 64 << 20
    /// Bounds on what one `Ready` hands out; the rest waits for the next one.
    public var readyMessagesMax: Int = 4_096
    public var readyCommittedBytesMax: Int = 16 << 20
    /// Reads waiting for a heartbeat round, and confirmed reads waiting to be applied.
    public var pendingReadsMax: Int = 4_096

    public init(id: NodeID, initialVoters: [NodeID], seed: UInt64) {
        self.id = id
        self.initialVoters = initialVoters
        self.seed = seed
    }

    func validate() {
        precondition(id != 0, "node id 0 is reserved")
        precondition(heartbeatTicks >= 1 && heartbeatTicks < electionTicksMin, "heartbeat must be shorter than the election timeout")
        precondition(electionTicksMin <= electionTicksMax, "election timeout range is empty")
        precondition(appendEntriesMax >= 1 && appendBytesMax >= 1, "appends must carry something")
        precondition(inflightMessagesMax >= 1 && inflightBytesMax >= 1, "the inflight window must hold one append")
        precondition(readyMessagesMax >= 1 && readyCommittedBytesMax >= 1 && pendingReadsMax >= 1, "limits must be positive")
    }
}
