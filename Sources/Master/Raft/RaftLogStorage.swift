import Synchronization

/// The stable part of the log, as the shell stores it (WAL plus snapshot file). The core only
/// reads through this protocol; the shell writes to its storage while handling a `Ready`.
///
/// Ordering contract for implementations: the shell appends `Ready.entries` (truncating any
/// stored entries at or after the first new index), saves `Ready.hardState` and installs
/// `Ready.snapshot` *before* it sends `Ready.messages` and before it calls `advance`. Reads must
/// reflect every write made before the call.
public protocol RaftLogStorage: Sendable {
    /// Hard state as last saved; `HardState()` for a fresh node.
    func hardState() -> HardState
    /// The latest snapshot, or nil when none was taken. Its index is at least `firstIndex - 1`:
    /// storage may keep entries before it, so a follower a little behind gets entries.
    func snapshot() -> Snapshot?
    /// Index of the first entry still stored (at most snapshot index + 1; 1 for a fresh log).
    var firstIndex: UInt64 { get }
    /// Index of the last stored entry (snapshot index when the log is empty after it).
    var lastIndex: UInt64 { get }
    /// Term of the entry at `index`, for `firstIndex - 1 ... lastIndex`; nil outside.
    func term(at index: UInt64) -> UInt64?
    /// Entries in `lo..<hi`, within `firstIndex...lastIndex`, stopping before `maxBytes` is
    /// exceeded but always returning at least one.
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) -> [Entry]
}

/// Storage in memory: the reference implementation, used by the tests and the simulator (where
/// it plays the disk that survives a crash).
public final class MemoryRaftStorage: RaftLogStorage {
    private struct State {
        var hard = HardState()
        var snapshot: Snapshot?
        /// `entries[i]` has index `offset + i`.
        var offset: UInt64 = 1
        var entries: [Entry] = []
    }
    private let state = Mutex(State())

    public init() {}

    public func hardState() -> HardState { state.withLock { $0.hard } }
    public func snapshot() -> Snapshot? { state.withLock { $0.snapshot } }
    public var firstIndex: UInt64 { state.withLock { $0.offset } }
    public var lastIndex: UInt64 { state.withLock { $0.offset + UInt64($0.entries.count) - 1 } }

    public func term(at index: UInt64) -> UInt64? {
        state.withLock { s in
            if index + 1 == s.offset { return s.snapshot?.metadata.term ?? 0 }
            guard index >= s.offset, index < s.offset + UInt64(s.entries.count) else { return nil }
            return s.entries[Int(index - s.offset)].term
        }
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) -> [Entry] {
        state.withLock { s in
            precondition(lo >= s.offset && hi <= s.offset + UInt64(s.entries.count) && lo <= hi, "entries out of range")
            var out: [Entry] = []
            var bytes = 0
            for i in Int(lo - s.offset)..<Int(hi - s.offset) {
                bytes += s.entries[i].byteCount
                if !out.isEmpty && bytes > maxBytes { break }
                out.append(s.entries[i])
            }
            return out
        }
    }

    public func setHardState(_ hard: HardState) { state.withLock { $0.hard = hard } }

    /// Appends, first dropping stored entries at or after `entries.first.index`.
    public func append(_ new: [Entry]) {
        guard let first = new.first else { return }
        state.withLock { s in
            precondition(first.index >= s.offset && first.index <= s.offset + UInt64(s.entries.count), "append leaves a gap")
            s.entries.removeSubrange(Int(first.index - s.offset)...)
            s.entries.append(contentsOf: new)
        }
    }

    /// Installs a snapshot received from the leader: the whole log is replaced.
    public func installSnapshot(_ snap: Snapshot) {
        state.withLock { s in
            s.snapshot = snap
            s.offset = snap.metadata.index + 1
            s.entries = []
        }
    }

    /// Saves a snapshot this node took and drops the log through its index.
    public func saveSnapshotAndCompact(_ snap: Snapshot) {
        state.withLock { s in
            let index = snap.metadata.index
            precondition(index + 1 >= s.offset && index < s.offset + UInt64(s.entries.count), "compaction out of range")
            s.entries.removeFirst(Int(index + 1 - s.offset))
            s.offset = index + 1
            s.snapshot = snap
        }
    }
}
