import Dispatch
import Foundation
import JobStore
import Model
import Raft
import Shared
import Synchronization

/// The replicated log: the pure `RaftNode` driven by one thread that feeds it ticks, peer
/// messages and proposals, and carries out each `Ready` in the order the core requires:
///
///   1. persist the snapshot, entries (fsync) and hard state (`DurableRaftStorage.persist`);
///   2. send the messages (only now may anything that depends on step 1 leave the node);
///   3. apply the committed entries to the job store, in order, answering each proposer whose
///      entry committed in the term it was proposed in (a different term means it was lost);
///   4. `advance`.
///
/// A write is therefore acknowledged only after a quorum persisted it and this node applied it.
/// When this node stops being leader, waiting proposers are told so (their writes may still
/// commit; `Idempotency-Key` makes the retry safe).
///
/// Reads go through `readBarrier` (read-index): a leader that was paused or cut off may not
/// know yet that another leader replaced it, so it serves a read only after a quorum confirmed
/// its leadership and it applied everything committed when the read arrived.
final class RaftReplicator: Replicator {
    struct Configuration: Sendable {
        var raft: RaftConfig
        var tick: Duration = .milliseconds(100)
        var proposalsQueuedMax = 65_536
        /// Peer messages waiting for the loop; beyond this they are dropped (Raft retransmits).
        var messagesQueuedMax = 65_536
        var snapshotEveryEntries: UInt64 = 50_000
    }

    /// What the API and metrics read about the node.
    struct Status: Sendable, Equatable {
        var role: Role = .follower
        var leader: NodeID = 0
        var term: UInt64 = 0
        var commit: UInt64 = 0
        var applied: UInt64 = 0
        var voters: [NodeID] = []
        var learners: [NodeID] = []
        /// The last configuration entry is not committed yet.
        var membershipChangePending = false
        /// Leader only: the last index each member is known to have persisted.
        var matchIndexes: [NodeID: UInt64] = [:]
        var lastIndex: UInt64 = 0
    }

    struct Inbox {
        var messages: [Message] = []
        var proposals: [(data: [UInt8], completion: @Sendable (Result<CommandResult, ProposeError>) -> Void)] = []
        var reads: [ReadCompletion] = []
        var compactions: [(SnapshotMetadata, [UInt8])] = []
        /// Snapshots the writer made durable (`saved` false: a newer one superseded it).
        var snapshotsWritten: [(metadata: SnapshotMetadata, data: [UInt8], saved: Bool)] = []
        /// The writer's failure: the loop stops on it as on any other storage error.
        var snapshotWriteFailure: (any Error)?
        var controls: [Control] = []
        var stopped = false
    }

    struct LoopState: ~Copyable {
        var node: RaftNode
        var pending: [UInt64: (term: UInt64, completion: @Sendable (Result<CommandResult, ProposeError>) -> Void)] = [:]
        /// Proposed configuration entries by index, answered when they are applied.
        var pendingConf: [UInt64: (term: UInt64, completion: @Sendable (Result<Void, MembershipError>) -> Void)] = [:]
        var lastSnapshotIndex: UInt64
        /// A snapshot is being encoded or written: at most one at a time.
        var snapshotting = false
        /// Reads waiting for their read-index round, by context, with the tick they started at.
        /// The reads that arrive together share one round.
        var reads: [UInt64: (startedTick: UInt64, completions: [ReadCompletion])] = [:]
        var lastReadID: UInt64 = 0
        var ticks: UInt64 = 0
        /// The core's invalid-message counts as last reported to `onDropped`.
        var invalidReported: [InvalidMessage: Int] = [:]
    }

    typealias ReadCompletion = @Sendable (Result<Void, ProposeError>) -> Void

    let configuration: Configuration
    let inbox = Mutex(Inbox())
    let wake = DispatchSemaphore(value: 0)
    private let loop: Mutex<LoopState>
    private let statusBox = Mutex(Status())
    private let storage: DurableRaftStorage
    let store: StoreHandle
    private let onApplied: @Sendable (UInt64, Command, CommandResult) -> Void
    private let send: @Sendable (Message) -> Void
    let leaderAPI: @Sendable (NodeID) -> String?
    let logger: Logger
    /// Told when a write or fsync fails; the loop then stops for good (fail-stop).
    let health: StorageHealth
    /// Called on the loop thread after a snapshot from the leader replaced the store.
    private let onRestored: @Sendable () -> Void
    /// Called with a reason for each peer message dropped, or committed entry skipped, as
    /// invalid (the metric `fuller_raft_dropped_total`).
    let onDropped: @Sendable (String) -> Void
    /// Called with the seconds each loop step took (the metric `fuller_raft_loop_blocked_seconds`):
    /// while a step runs the node sends no heartbeat, vote or acknowledgement.
    private let onStep: @Sendable (Double) -> Void
    private let finished = DispatchSemaphore(value: 0)
    /// Writes and fsyncs snapshot files off the loop, one at a time (etcd does the same): a
    /// file of tens of megabytes would otherwise stop heartbeats, votes and acks for seconds.
    private let snapshotWriter = DispatchQueue(label: "fuller-snapshot-writer")

    /// Recovers the store from the latest snapshot (the entries after it are applied by the
    /// loop as the node hands them back) and starts the loop.
    init(configuration: Configuration, storage: DurableRaftStorage, store: StoreHandle, logger: Logger, health: StorageHealth,
         send: @escaping @Sendable (Message) -> Void, leaderAPI: @escaping @Sendable (NodeID) -> String?,
         onApplied: @escaping @Sendable (UInt64, Command, CommandResult) -> Void,
         onRestored: @escaping @Sendable () -> Void = {}, onDropped: @escaping @Sendable (String) -> Void = { _ in },
         onStep: @escaping @Sendable (Double) -> Void = { _ in }) throws {
        self.configuration = configuration
        self.onStep = onStep
        self.onRestored = onRestored
        self.onDropped = onDropped
        self.storage = storage
        self.store = store
        self.logger = logger
        self.health = health
        self.send = send
        self.leaderAPI = leaderAPI
        self.onApplied = onApplied
        let snapshot = storage.snapshot()
        if let snapshot { store.replace(with: try JobStore.restore(snapshot.data, limits: store.read { $0.limits })) }
        let node = RaftNode(config: configuration.raft, storage: storage, applied: snapshot?.metadata.index)
        loop = Mutex(LoopState(node: node, lastSnapshotIndex: snapshot?.metadata.index ?? 0))
        let thread = Thread { [self] in run() }
        thread.name = "fuller-raft"
        thread.start()
    }

    var status: Status { statusBox.withLock { $0 } }

    func propose(_ command: Command, completion: @escaping @Sendable (Result<CommandResult, ProposeError>) -> Void) {
        let data: [UInt8]
        switch command.boundedEncoding() {
        case .success(let bytes): data = bytes
        case .failure(let tooLarge): return completion(.failure(.tooLarge(tooLarge)))
        }
        let accepted = inbox.withLock { i -> Bool in
            guard !i.stopped, i.proposals.count < configuration.proposalsQueuedMax else { return false }
            i.proposals.append((data, completion))
            return true
        }
        if accepted { wake.signal() } else { completion(.failure(refusal)) }
    }

    /// Why a proposal or read was not queued: the loop stopped because storage failed, or the
    /// queue is full.
    private var refusal: ProposeError { health.failed.map { .storageFailed($0.reason) } ?? .overloaded }

    /// Calls `completion` with success once a quorum confirmed this node still leads and it has
    /// applied every entry committed before the call: a read of the store made then sees every
    /// write acknowledged before the read arrived. Fails with `notLeader` if leadership is lost
    /// or not confirmed within two election timeouts.
    func readBarrier(completion: @escaping ReadCompletion) {
        let accepted = inbox.withLock { i -> Bool in
            guard !i.stopped, i.reads.count < configuration.raft.pendingReadsMax else { return false }
            i.reads.append(completion)
            return true
        }
        if accepted { wake.signal() } else { completion(.failure(refusal)) }
    }

    /// Messages from a peer (the transport calls this) that authenticated as `sender`: each is
    /// checked (`admit`) before the loop sees it. A full inbox drops the newest: Raft treats
    /// the network as lossy, so the loop never falls behind without bound. Returns whether the
    /// frames held a leader's message (append, heartbeat, snapshot) from `sender`.
    @discardableResult
    func receive(_ frames: [[UInt8]], from sender: NodeID) -> Bool {
        let messages = frames.compactMap { admit($0, from: sender) }
        guard !messages.isEmpty else { return false }
        inbox.withLock { i in
            guard !i.stopped else { return }  // a stopped node (e.g. its storage failed) answers nothing
            let room = max(0, configuration.messagesQueuedMax - i.messages.count)
            i.messages.append(contentsOf: messages.prefix(room))
        }
        wake.signal()
        return messages.contains { $0.isFromLeader }
    }

    /// Stops the loop after the current step; waiting proposers hear `notLeader`.
    func stop() {
        inbox.withLock { $0.stopped = true }
        wake.signal()
        finished.wait()
    }

    // MARK: The loop

    private func run() {
        var nextTick = DispatchTime.now().uptimeNanoseconds + tickNanos
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now < nextTick { _ = wake.wait(timeout: .now() + .nanoseconds(Int(nextTick - now))) }
            let input = inbox.withLock { i -> Inbox in
                defer {
                    i.messages = []; i.proposals = []; i.reads = []; i.compactions = []; i.controls = []
                    i.snapshotsWritten = []; i.snapshotWriteFailure = nil
                }
                return i
            }
            if input.stopped { shutDown(); return }
            let ticks = DispatchTime.now().uptimeNanoseconds >= nextTick
            if ticks { nextTick = DispatchTime.now().uptimeNanoseconds + tickNanos }
            let began = DispatchTime.now().uptimeNanoseconds
            defer { observeStep(since: began) }
            do { try step(input, tick: ticks) } catch {
                // Fail-stop: nothing more leaves this node, so another member takes over.
                health.fail(error)
                statusBox.withLock { $0.role = .follower; $0.leader = 0 }
                shutDown()
                return
            }
        }
    }

    /// A step longer than this is logged: the node was silent to its peers all that time.
    static let stepWarnSeconds = 0.2

    private func observeStep(since began: UInt64) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        onStep(seconds)
        if seconds > Self.stepWarnSeconds {
            logger.warn("raft loop step blocked", ["ms": .int(Int64(seconds * 1_000))])
        }
    }

    private var tickNanos: UInt64 {
        UInt64(configuration.tick.components.seconds) * 1_000_000_000 + UInt64(configuration.tick.components.attoseconds / 1_000_000_000)
    }

    private func step(_ input: Inbox, tick: Bool) throws {
        try loop.withLock { (l) throws in
            if tick {
                l.node.tick()
                l.ticks += 1
                expireReads(&l)
            }
            for m in input.messages { l.node.step(m) }
            if !input.messages.isEmpty { reportInvalid(&l) }
            if let failure = input.snapshotWriteFailure { throw failure }
            for w in input.snapshotsWritten { try snapshotWritten(&l, w.metadata, w.data, saved: w.saved) }
            for (metadata, data) in input.compactions { compact(&l, metadata, data) }
            proposeAll(&l, input.proposals)
            if !input.reads.isEmpty { startRead(&l, input.reads) }
            for c in input.controls { control(&l, c) }
            if tick { promoteCaughtUpLearner(&l) }
            while l.node.hasReady { try handle(&l, l.node.ready()) }
            maybeSnapshot(&l)
        }
    }

    /// Everything queued since the last step goes into the log as one batch: one append per
    /// follower, one fsync.
    private func proposeAll(_ l: inout LoopState, _ proposals: [(data: [UInt8], completion: @Sendable (Result<CommandResult, ProposeError>) -> Void)]) {
        guard !proposals.isEmpty else { return }
        do {
            let placed = try l.node.propose(batch: proposals.map(\.data))
            for (p, slot) in zip(proposals, placed) {
                if let (index, term) = slot { l.pending[index] = (term, p.completion) } else { p.completion(.failure(.overloaded)) }
            }
        } catch .transferInProgress {
            // Leadership is being handed over; the clients retry at the new leader.
            for p in proposals { p.completion(.failure(.notLeader(leaderAPI: nil))) }
        } catch {
            let leader = leaderAPI(l.node.leader)
            for p in proposals { p.completion(.failure(.notLeader(leaderAPI: leader))) }
        }
    }

    private func startRead(_ l: inout LoopState, _ completions: [ReadCompletion]) {
        l.lastReadID += 1
        do {
            try l.node.readIndex(context: Self.readContext(l.lastReadID))
            l.reads[l.lastReadID] = (l.ticks, completions)
        } catch .busy {
            for c in completions { c(.failure(.overloaded)) }
        } catch {
            let leader = leaderAPI(l.node.leader)
            for c in completions { c(.failure(.notLeader(leaderAPI: leader))) }
        }
    }

    /// A read whose heartbeat round was lost is failed rather than left waiting; the client retries.
    private func expireReads(_ l: inout LoopState) {
        let ticksMax = UInt64(2 * configuration.raft.electionTicksMax)
        for (id, read) in l.reads where l.ticks - read.startedTick > ticksMax {
            l.reads[id] = nil
            for c in read.completions { c(.failure(.notLeader(leaderAPI: leaderAPI(l.node.leader)))) }
        }
    }

    static func readContext(_ id: UInt64) -> [UInt8] { withUnsafeBytes(of: id.littleEndian) { Array($0) } }

    static func readID(_ context: [UInt8]) -> UInt64? {
        guard context.count == 8 else { return nil }
        return context.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private func handle(_ l: inout LoopState, _ ready: Ready) throws {
        // A leader's appends go out before its own fsync, so the followers' writes overlap
        // the leader's (Raft thesis §10.2.1). This is safe because the leader counts its own
        // copy toward a quorum only in a later step, and this loop takes the next step (and
        // so hears any follower's answer) only after `persist` returned. Everything else —
        // votes, answers, anything sent under a term not yet on disk — waits for the fsync.
        let termDurable = ready.hardState.map { $0.term == storage.hardState().term } ?? true
        let early: (Message) -> Bool = { termDurable && Self.sendsBeforePersist($0.kind) }
        for m in ready.messages where early(m) { send(m) }
        try storage.persist(ready)
        for m in ready.messages where !early(m) { send(m) }
        if let snap = ready.snapshot {
            store.replace(with: try JobStore.restore(snap.data, limits: store.read { $0.limits }))
            l.lastSnapshotIndex = snap.metadata.index
            onRestored()
            logger.info("snapshot installed from the leader", ["index": .int(Int64(snap.metadata.index)), "bytes": .int(Int64(snap.data.count))])
        }
        for entry in ready.committedEntries { apply(&l, entry) }
        for read in ready.readStates {
            guard let id = Self.readID(read.context), let waiting = l.reads.removeValue(forKey: id) else { continue }
            for c in waiting.completions { c(.success(())) }
        }
        if let soft = ready.softState, soft.role != .leader {
            let leader = leaderAPI(soft.leader)
            for (_, p) in l.pending { p.completion(.failure(.notLeader(leaderAPI: leader))) }
            l.pending = [:]
            // The core drops reads it can no longer confirm; their waiters hear it here.
            for (_, r) in l.reads { for c in r.completions { c(.failure(.notLeader(leaderAPI: leader))) } }
            l.reads = [:]
        }
        if let soft = ready.softState, soft.role != .leader { failPendingChanges(&l, leaderAPI: leaderAPI(soft.leader)) }
        l.node.advance(ready)
        let node = l.node
        statusBox.withLock { s in
            s = Status(role: node.role, leader: node.leader, term: node.term, commit: node.commitIndex,
                       applied: node.appliedIndex, voters: node.conf.voters, learners: node.conf.learners,
                       membershipChangePending: node.membershipChangePending,
                       matchIndexes: Dictionary(uniqueKeysWithValues: (node.conf.voters + node.conf.learners)
                           .compactMap { id in node.matchIndex(of: id).map { (id, $0) } }),
                       lastIndex: node.lastIndex)
        }
    }

    /// Requests only a leader sends, which promise nothing about this node's own disk.
    static func sendsBeforePersist(_ kind: MessageKind) -> Bool {
        switch kind {
        case .append, .heartbeat, .snapshot: return true
        case .preVote, .preVoteResponse, .vote, .voteResponse, .appendResponse, .heartbeatResponse, .timeoutNow: return false
        }
    }

    private func apply(_ l: inout LoopState, _ entry: Entry) {
        let waiter = l.pending.removeValue(forKey: entry.index)
        if entry.kind == .configuration { changeApplied(&l, entry) }
        guard entry.kind == .normal, !entry.data.isEmpty else {
            waiter?.completion(.failure(.notLeader(leaderAPI: leaderAPI(l.node.leader))))
            return
        }
        let command: Command
        do { command = try Command(encoded: entry.data) } catch {
            // Every member holds the same bytes, so every member skips this entry alike: the
            // stores stay identical, and no node stops over an entry the leader accepted.
            logger.error("log entry does not decode as a command; skipped", ["index": .int(Int64(entry.index)), "error": .string("\(error)")])
            onDropped("undecodableEntry")
            waiter?.completion(.failure(.notLeader(leaderAPI: leaderAPI(l.node.leader))))
            return
        }
        let result = store.apply(command, index: entry.index)
        onApplied(entry.index, command, result)
        guard let waiter else { return }
        if waiter.term == entry.term {
            waiter.completion(.success(result))
        } else {
            waiter.completion(.failure(.notLeader(leaderAPI: leaderAPI(l.node.leader))))
        }
    }

    /// Every `snapshotEveryEntries` applied entries, encode a copy of the store off this
    /// thread (the copy is O(1)); the result comes back through the inbox as a compaction.
    private func maybeSnapshot(_ l: inout LoopState) {
        let applied = l.node.appliedIndex
        guard !l.snapshotting, applied >= l.lastSnapshotIndex + configuration.snapshotEveryEntries else { return }
        l.snapshotting = true
        let copy = store.copy()
        let thread = Thread { [self] in
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            let data = copy.snapshot()
            inbox.withLock { $0.compactions.append((SnapshotMetadata(index: copy.appliedIndex, term: 0, conf: ConfState(voters: [])), data)) }
            wake.signal()
        }
        thread.name = "fuller-snapshot"
        thread.start()
    }

    /// The encoded store came back: the core records the snapshot, and the writer makes the
    /// file durable off this thread. The log is compacted only when it reports (`snapshotWritten`).
    private func compact(_ l: inout LoopState, _ placeholder: SnapshotMetadata, _ data: [UInt8]) {
        // nil metadata: a snapshot from the leader superseded ours meanwhile.
        guard placeholder.index > l.lastSnapshotIndex, placeholder.index <= l.node.appliedIndex,
              l.node.term(at: placeholder.index) != nil, let metadata = l.node.snapshotTaken(at: placeholder.index) else {
            l.snapshotting = false
            return
        }
        snapshotWriter.async { [self] in
            do {
                let saved = try storage.writeSnapshot(metadata, data: data)
                inbox.withLock { $0.snapshotsWritten.append((metadata, data, saved)) }
            } catch {
                inbox.withLock { $0.snapshotWriteFailure = error }
            }
            wake.signal()
        }
    }

    private func snapshotWritten(_ l: inout LoopState, _ metadata: SnapshotMetadata, _ data: [UInt8], saved: Bool) throws {
        l.snapshotting = false
        guard saved else { return }
        try storage.snapshotWritten(metadata, data: data)
        l.lastSnapshotIndex = max(l.lastSnapshotIndex, metadata.index)
        logger.info("snapshot written", ["index": .int(Int64(metadata.index)), "bytes": .int(Int64(data.count))])
    }

    private func shutDown() {
        let stopped = health.failed.map { ProposeError.storageFailed($0.reason) } ?? .notLeader(leaderAPI: nil)
        let (leftover, reads) = inbox.withLock { i in
            i.stopped = true
            defer { i.proposals = []; i.reads = [] }
            return (i.proposals, i.reads)
        }
        for p in leftover { p.completion(.failure(stopped)) }
        for r in reads { r(.failure(stopped)) }
        let controls = inbox.withLock { i -> [Control] in
            defer { i.controls = [] }
            return i.controls
        }
        for c in controls { c.refuse(.notLeader(leaderAPI: nil)) }
        loop.withLock { l in
            for (_, p) in l.pending { p.completion(.failure(stopped)) }
            l.pending = [:]
            for (_, r) in l.reads { for c in r.completions { c(.failure(stopped)) } }
            l.reads = [:]
            failPendingChanges(&l, leaderAPI: nil)
        }
        // A snapshot write in progress finishes (or fails) before `stop` returns.
        snapshotWriter.sync {}
        finished.signal()
    }
}
