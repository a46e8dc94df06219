import Raft
import Storage
import Synchronization

/// Raft's stable storage on disk: log entries in the WAL (with their terms), the hard state in
/// its two-slot file, snapshots in the snapshot store; plus the entries after the latest
/// snapshot (and a catch-up margin before it) kept in memory, which is what the core reads.
///
/// Used by the Raft loop (`RaftReplicator`), which also calls into the core, and by its snapshot
/// writer, which only calls `writeSnapshot`. Ordering: `persist` writes the entries, then fsyncs
/// them, then saves the hard state, so a saved commit index never points past entries that could
/// be lost. A compaction is two steps: `writeSnapshot` makes the snapshot file durable (off the
/// loop), then `snapshotWritten` (on the loop) drops the log it covers; a crash between the two
/// leaves a snapshot plus a WAL that still holds its entries, which `init` accepts.
final class DurableRaftStorage: RaftLogStorage {
    private struct State: ~Copyable {
        var wal: WriteAheadLog
        let hardStateFile: HardStateFile
        var hard: Raft.HardState
        var snapshot: Raft.Snapshot?
        /// Entries after the snapshot, `offset` being the index of `entries[0]`.
        var entries: [Entry]
        var offset: UInt64
    }

    /// How much log a compaction keeps before the snapshot's index, so a follower a little
    /// behind (after a pause or a leader change) catches up from entries instead of needing the
    /// whole store as a snapshot. The smaller of the two limits wins.
    struct CatchUpMargin: Sendable {
        var entries: UInt64 = 10_000
        /// Payload bytes of the kept entries (they stay in memory as well as in the WAL).
        var bytesMax = 32 << 20
    }

    private let state: Mutex<State>
    private let snapshots: SnapshotStore
    /// The index of the newest snapshot file; held across each save, so no two run at once.
    private let savedIndex: Mutex<UInt64>
    private let margin: CatchUpMargin

    init(directory: String, fsync: Bool, margin: CatchUpMargin = CatchUpMargin()) throws {
        self.margin = margin
        snapshots = try SnapshotStore(directory: directory + "/snapshots", fsyncEnabled: fsync)
        let (wal, _) = try WriteAheadLog.open(directory: directory + "/wal", options: WriteAheadLog.Options(fsyncEnabled: fsync))
        // Last: opening the hard state syncs this directory, which makes the entries of the two
        // directories above durable too.
        let (hardFile, stored) = try HardStateFile.open(path: directory + "/hard-state", fsyncEnabled: fsync)
        var snapshot: Raft.Snapshot?
        if let saved = try snapshots.loadLatest() { snapshot = try Self.decodeSnapshot(saved) }
        let base = snapshot?.metadata.index ?? 0
        if let snapshot { try Self.finishInstall(wal, snapshot.metadata) }
        guard wal.firstIndex <= base + 1 else { throw RaftStorageError.gap(walFirst: wal.firstIndex, snapshot: base) }
        // The WAL now holds the snapshot's entry (same term) or starts right after it, so the
        // entries it keeps before the snapshot are this log's own: they are the catch-up margin.
        let first = max(wal.firstIndex, base + 1 - min(base, margin.entries))
        var entries: [Entry] = []
        var next = first
        while next <= wal.lastIndex {
            for e in try wal.entries(from: next, maxBytes: 16 << 20) {
                entries.append(Self.entry(e))
                next = e.index + 1
            }
        }
        let hard = Raft.HardState(term: stored.term, vote: stored.vote, commit: stored.commit)
        var loaded = State(wal: wal, hardStateFile: hardFile, hard: hard, snapshot: snapshot, entries: entries, offset: first)
        Self.trim(&loaded, through: base, margin: margin)
        state = Mutex(loaded)
        savedIndex = Mutex(base)
    }

    /// A crash between saving a leader's snapshot and resetting the WAL (see `install`) leaves a
    /// WAL that does not continue from the snapshot: it ends before the snapshot's index, or
    /// holds another term's entry there. Finishes that reset, as `install` would have.
    private static func finishInstall(_ wal: WriteAheadLog, _ metadata: SnapshotMetadata) throws {
        let index = metadata.index
        guard wal.firstIndex <= index else { return }
        if wal.lastIndex >= index, try wal.entries(from: index, maxBytes: 0).first?.term == metadata.term { return }
        if wal.lastIndex > index { try wal.truncateSuffix(after: index) }
        try wal.truncatePrefix(through: index)
    }

    /// Drops the entries at or before `index` (a snapshot's) that the catch-up margin does not keep.
    private static func trim(_ s: inout State, through index: UInt64, margin: CatchUpMargin) {
        guard index >= s.offset else { return }
        let covered = Int(min(index - s.offset + 1, UInt64(s.entries.count)))
        var keep = 0
        var bytes = 0
        while keep < min(covered, Int(margin.entries)) {
            bytes += s.entries[covered - 1 - keep].data.count
            if bytes > margin.bytesMax { break }
            keep += 1
        }
        s.entries.removeFirst(covered - keep)
        // A log that ended before `index` restarts right after it.
        s.offset = s.entries.isEmpty ? max(s.offset + UInt64(covered), index + 1) : s.offset + UInt64(covered - keep)
    }

    enum RaftStorageError: Error, CustomStringConvertible {
        case gap(walFirst: UInt64, snapshot: UInt64)
        case badSnapshot(String)
        var description: String {
            switch self {
            case let .gap(walFirst, snapshot): "the WAL starts at \(walFirst) but the snapshot ends at \(snapshot): entries are missing"
            case .badSnapshot(let reason): "snapshot does not decode: \(reason)"
            }
        }
    }

    // MARK: RaftLogStorage

    /// The commit index is not written on every change (see `persist`), so it may lag on disk;
    /// a snapshot proves everything through its index committed, which is the floor.
    func hardState() -> Raft.HardState {
        state.withLock { s in
            var hard = s.hard
            if let snap = s.snapshot { hard.commit = max(hard.commit, snap.metadata.index) }
            return hard
        }
    }
    func snapshot() -> Raft.Snapshot? { state.withLock { $0.snapshot } }
    var firstIndex: UInt64 { state.withLock { $0.offset } }
    var lastIndex: UInt64 { state.withLock { $0.offset + UInt64($0.entries.count) - 1 } }

    func term(at index: UInt64) -> UInt64? {
        state.withLock { s in
            if let snap = s.snapshot, index == snap.metadata.index { return snap.metadata.term }
            if index == 0 && s.offset == 1 { return 0 }
            guard index >= s.offset, index < s.offset + UInt64(s.entries.count) else { return nil }
            return s.entries[Int(index - s.offset)].term
        }
    }

    func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) -> [Entry] {
        state.withLock { s in
            precondition(lo >= s.offset && hi <= s.offset + UInt64(s.entries.count) && lo < hi, "entries \(lo)..<\(hi) outside the log")
            var out: [Entry] = []
            var bytes = 0
            for i in Int(lo - s.offset)..<Int(hi - s.offset) {
                bytes += s.entries[i].data.count
                if !out.isEmpty && bytes > maxBytes { break }
                out.append(s.entries[i])
            }
            return out
        }
    }

    // MARK: Writes (the Raft loop only)

    /// Makes a `Ready`'s snapshot, entries and hard state durable, in that order.
    func persist(_ ready: Ready) throws {
        if let snap = ready.snapshot { try install(snap) }
        try state.withLock { (s) throws in
            if let first = ready.entries.first {
                let next = s.offset + UInt64(s.entries.count)
                precondition(first.index >= s.offset && first.index <= next, "entries from \(first.index) after \(next - 1)")
                if first.index < next {
                    // A new leader overwrote our tail: drop the conflicting entries first.
                    try s.wal.truncateSuffix(after: first.index - 1)
                    s.entries.removeLast(Int(next - first.index))
                }
                try s.wal.append(contentsOf: ready.entries.map { LogEntry(index: $0.index, term: $0.term, payload: Self.payload($0)) })
                s.entries.append(contentsOf: ready.entries)
            }
            if ready.mustSync || !ready.entries.isEmpty { try s.wal.sync() }
            if let hard = ready.hardState {
                // Term and vote must be durable before anything that depends on them is sent;
                // the commit index need not be (a restarted node learns it again from the
                // leader), so a change of commit alone costs no write and no fsync.
                if hard.term != s.hard.term || hard.vote != s.hard.vote {
                    try s.hardStateFile.save(StoredHardState(term: hard.term, vote: hard.vote, commit: hard.commit))
                }
                s.hard = hard
            }
        }
    }

    /// A snapshot received from the leader replaces everything before (and, being newer, any
    /// conflicting entries after) its index.
    /// Runs on the loop (waiting for a snapshot write in progress, if any): the entries the
    /// leader sends next depend on it.
    private func install(_ snap: Raft.Snapshot) throws {
        _ = try save(snap)
        try state.withLock { (s) throws in
            let index = snap.metadata.index
            // Entries past the snapshot may conflict with it: the snapshot wins, and the log
            // starts again right after it.
            if s.wal.lastIndex > index { try s.wal.truncateSuffix(after: max(index, s.wal.firstIndex - 1)) }
            try s.wal.truncatePrefix(through: index)
            s.entries = []
            s.offset = snap.metadata.index + 1
            s.snapshot = snap
        }
    }

    /// The application took a snapshot of its state at `metadata.index`: store it, then drop
    /// the log before it. Both steps at once (the replicator runs them on two threads).
    func compact(_ metadata: SnapshotMetadata, data: [UInt8]) throws {
        if try writeSnapshot(metadata, data: data) { try snapshotWritten(metadata, data: data) }
    }

    /// Writes the application's snapshot durably: the slow half of a compaction, which the
    /// replicator's snapshot writer runs off the Raft loop. Returns false, writing nothing, when
    /// a newer snapshot (the leader's) was saved meanwhile.
    func writeSnapshot(_ metadata: SnapshotMetadata, data: [UInt8]) throws -> Bool {
        try save(Raft.Snapshot(metadata: metadata, data: data))
    }

    private func save(_ snap: Raft.Snapshot) throws -> Bool {
        try savedIndex.withLock { (newest) throws -> Bool in
            guard snap.metadata.index >= newest else { return false }
            try snapshots.save(index: snap.metadata.index, term: snap.metadata.term, payload: Self.encodeSnapshot(snap))
            newest = snap.metadata.index
            return true
        }
    }

    /// The snapshot `writeSnapshot` made durable becomes the log's base: drop the log before it
    /// but for the catch-up margin (the WAL keeps what the older retained snapshot still needs,
    /// and the margin). Ignored when a newer snapshot replaced the log meanwhile.
    func snapshotWritten(_ metadata: SnapshotMetadata, data: [UInt8]) throws {
        let safe = snapshots.truncationSafeIndex
        try state.withLock { (s) throws in
            guard metadata.index >= s.offset, metadata.index > s.snapshot?.metadata.index ?? 0 else { return }
            Self.trim(&s, through: metadata.index, margin: margin)
            s.snapshot = Raft.Snapshot(metadata: metadata, data: data)
            // The WAL keeps the catch-up margin too, so a restarted leader still has it.
            if let safe, min(safe, s.offset - 1) >= s.wal.firstIndex, safe < s.wal.lastIndex {
                try s.wal.truncatePrefix(through: min(safe, s.offset - 1))
            }
        }
    }

    // MARK: Encoding

    static func payload(_ e: Entry) -> [UInt8] { [e.kind.rawValue] + e.data }

    static func entry(_ e: LogEntry) -> Entry {
        let kind = e.payload.first.flatMap(EntryKind.init(rawValue:)) ?? .normal
        return Entry(term: e.term, index: e.index, kind: kind, data: Array(e.payload.dropFirst()))
    }

    static func encodeSnapshot(_ snap: Raft.Snapshot) -> [UInt8] {
        var w = RaftWire.Writer()
        w.bytes(snap.metadata.conf.encoded())
        w.bytes(snap.data)
        return w.out
    }

    static func decodeSnapshot(_ saved: Storage.Snapshot) throws -> Raft.Snapshot {
        var r = RaftWire.Reader(bytes: saved.payload)
        guard let confBytes = r.bytes(), let conf = ConfState(validating: confBytes), let data = r.bytes(), r.atEnd else {
            throw RaftStorageError.badSnapshot("snapshot \(saved.index)")
        }
        return Raft.Snapshot(metadata: SnapshotMetadata(index: saved.index, term: saved.term, conf: conf), data: data)
    }
}
