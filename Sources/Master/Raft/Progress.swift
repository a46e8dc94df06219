/// Appends sent to one follower and not yet acknowledged: bounded in messages and bytes, so a
/// slow follower costs the leader a fixed amount of memory and bandwidth.
struct Inflights: Sendable, Equatable {
    /// (last index in the append, bytes), oldest first.
    private(set) var items: [(index: UInt64, bytes: Int)] = []
    private(set) var bytes = 0
    let messagesMax: Int
    let bytesMax: Int

    init(messagesMax: Int, bytesMax: Int) {
        self.messagesMax = messagesMax
        self.bytesMax = bytesMax
    }

    var isFull: Bool { items.count >= messagesMax || bytes >= bytesMax }

    mutating func add(index: UInt64, bytes size: Int) {
        precondition(!isFull, "inflight window overflow")
        precondition(items.last.map { $0.index < index } ?? true, "inflight indexes must grow")
        items.append((index, size))
        bytes += size
    }

    /// The follower acknowledged everything through `index`.
    mutating func free(through index: UInt64) {
        let n = items.prefix { $0.index <= index }.count
        for item in items.prefix(n) { bytes -= item.bytes }
        items.removeFirst(n)
    }

    mutating func freeFirst() {
        guard let first = items.first else { return }
        free(through: first.index)
    }

    mutating func reset() {
        items = []
        bytes = 0
    }

    static func == (a: Inflights, b: Inflights) -> Bool {
        a.bytes == b.bytes && a.items.map(\.index) == b.items.map(\.index)
    }
}

/// The leader's view of one peer (etcd's Progress): how much of the log it holds and how to
/// send it more.
///
///     probe ──ack──► replicate ──reject──► probe
///       │  ▲                                 
///       ▼  │ snapshot acknowledged, or retry after an election timeout
///     snapshot
struct Progress: Sendable, Equatable {
    enum State: Sendable, Equatable {
        /// One append at a time until we find where the logs agree.
        case probe
        /// Optimistic: send ahead up to the inflight window.
        case replicate
        /// A snapshot at this index is on its way; send nothing else.
        case snapshot(index: UInt64)
    }

    var match: UInt64 = 0
    var next: UInt64
    var state: State = .probe
    /// In probe: an append is outstanding; cleared by any response (or a heartbeat response).
    var probeSent = false
    /// Heard from this peer since the last CheckQuorum round.
    var recentActive = false
    /// Heartbeat responses seen while waiting on a snapshot; past a limit we retry.
    var snapshotWaitTicks = 0
    var inflights: Inflights
    var isLearner: Bool

    init(next: UInt64, isLearner: Bool, config: RaftConfig) {
        self.next = next
        self.isLearner = isLearner
        inflights = Inflights(messagesMax: config.inflightMessagesMax, bytesMax: config.inflightBytesMax)
    }

    /// Whether the leader must hold further appends to this peer.
    var isPaused: Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflights.isFull
        case .snapshot: return true
        }
    }

    mutating func becomeProbe() {
        if case .snapshot(let index) = state {
            next = max(match + 1, index + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        inflights.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflights.reset()
    }

    mutating func becomeSnapshot(index: UInt64) {
        state = .snapshot(index: index)
        snapshotWaitTicks = 0
        inflights.reset()
    }

    /// A success response for `index`; false when it is stale (nothing new learned).
    mutating func acknowledge(_ index: UInt64) -> Bool {
        probeSent = false
        guard index > match else { return false }
        match = index
        next = max(next, index + 1)
        inflights.free(through: index)
        return true
    }

    /// A rejection of an append whose previous index was `rejected`; `hint` is where the leader
    /// computed the logs may agree. False when the rejection is stale.
    mutating func decrease(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .replicate {
            if rejected <= match { return false }
            becomeProbe()
            next = max(match + 1, min(rejected, hint + 1))
            return true
        }
        if next == 0 || next - 1 != rejected { return false }
        next = max(match + 1, min(rejected, hint + 1))
        probeSent = false
        return true
    }

    /// Records an append that was just sent, whose last entry is `lastIndex`.
    mutating func sent(lastIndex: UInt64?, bytes: Int) {
        switch state {
        case .replicate:
            if let last = lastIndex {
                next = last + 1
                inflights.add(index: last, bytes: bytes)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            preconditionFailure("no appends while a snapshot is in flight")
        }
    }
}
