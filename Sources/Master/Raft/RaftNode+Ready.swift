/// What the shell must do after the core changed state. Produced by `RaftNode.ready()`.
///
/// **Ordering contract** — handle the fields in this order, then call `advance(_:)`:
/// 1. Persist `hardState`, `entries` and `snapshot` to stable storage (entries replace any stored
///    entries from `entries.first.index` on), and fsync when `mustSync` — all before step 2.
///    A vote, an acknowledgement or an append that reached a peer must survive a crash.
/// 2. Send `messages` (any order, any transport; loss is tolerated).
/// 3. Install `snapshot` in the state machine if present, then apply `committedEntries` in order.
///    (These are persisted already: locally by step 1 or an earlier Ready.)
/// 4. Answer `readStates`: each may be served now that step 3 is done.
/// 5. Call `advance(ready)` before the next `ready()`. `step`, `tick` and requests may be
///    called between `ready()` and `advance`; what they produce waits for the next `Ready`.
public struct Ready: Sendable {
    /// Term, vote and commit to save; nil when unchanged since the last Ready.
    public var hardState: HardState?
    /// Entries to append to stable storage.
    public var entries: [Entry]
    /// A snapshot from the leader to save and install.
    public var snapshot: Snapshot?
    /// True when entries or the term or vote changed: an fsync is needed before sending.
    public var mustSync: Bool
    /// Messages to send after persisting.
    public var messages: [Message]
    /// Committed entries to apply, in log order, after the snapshot.
    public var committedEntries: [Entry]
    /// Confirmed linearizable reads, safe once `committedEntries` are applied.
    public var readStates: [ReadState]
    /// Leader or role changed; nil when unchanged.
    public var softState: SoftState?

    public var isEmpty: Bool {
        hardState == nil && entries.isEmpty && snapshot == nil && messages.isEmpty
            && committedEntries.isEmpty && readStates.isEmpty && softState == nil
    }
}

extension RaftNode {
    /// Whether `ready()` would hand out anything.
    public var hasReady: Bool {
        hardState != lastHardState || softState != lastSoftState || !log.unstable.isEmpty
            || log.pendingSnapshot != nil || !outbox.isEmpty || applyFrom < log.committed
            || reads.confirmed.contains { $0.index <= log.applied }
    }

    /// Entries after this index are the next to hand out for applying.
    private var applyFrom: UInt64 { max(log.applied, log.pendingSnapshot?.metadata.index ?? 0) }

    /// Collects the work for the shell. See `Ready` for the order to do it in. Must be followed
    /// by `advance(_:)` before the next call.
    public mutating func ready() -> Ready {
        precondition(!awaitingAdvance, "ready() called again before advance()")
        awaitingAdvance = true
        let hard = hardState
        let committed = log.committedEntries(after: applyFrom, maxBytes: config.readyCommittedBytesMax)
        let appliedAfter = committed.last?.index ?? applyFrom
        let servable = reads.confirmed.filter { $0.index <= appliedAfter }
        reads.confirmed.removeAll { $0.index <= appliedAfter }
        let messages = outbox
        outbox = []
        return Ready(
            hardState: hard == lastHardState ? nil : hard,
            entries: log.unstable,
            snapshot: log.pendingSnapshot,
            mustSync: !log.unstable.isEmpty || hard.term != lastHardState.term || hard.vote != lastHardState.vote,
            messages: messages,
            committedEntries: committed,
            readStates: servable,
            softState: softState == lastSoftState ? nil : softState)
    }

    /// The shell finished `ready` (persisted, sent, applied). Entries leave the unstable tail,
    /// the applied index moves, and a leader counts its own persisted entries towards commit.
    public mutating func advance(_ ready: Ready) {
        precondition(awaitingAdvance, "advance() without ready()")
        awaitingAdvance = false
        if let hard = ready.hardState { lastHardState = hard }
        if let soft = ready.softState { lastSoftState = soft }
        if let snap = ready.snapshot {
            log.stableSnapshotTo(index: snap.metadata.index)
            log.applied = max(log.applied, snap.metadata.index)
        }
        if let last = ready.entries.last { log.stableTo(index: last.index, term: last.term) }
        if let last = ready.committedEntries.last {
            precondition(last.index <= log.committed && last.index > log.applied, "applied out of order")
            log.applied = last.index
        }
        if role == .leader, progress[id] != nil, log.stableLastIndex > progress[id]!.match {
            progress[id]!.match = log.stableLastIndex
            if maybeCommit(), role == .leader { broadcastAppend() }
        }
    }
}
