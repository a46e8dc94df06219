/// The log as the core sees it: stable entries read through `RaftLogStorage`, plus an unstable
/// tail (and possibly a snapshot from the leader) that the shell has not persisted yet.
///
/// Invariants: `applied <= committed <= lastIndex`; unstable entries start at `offset`, which is
/// one past the stable entries that are still valid (stored entries at `offset` or later are
/// stale and the shell truncates them when it persists the tail).
struct RaftLog: Sendable {
    var storage: any RaftLogStorage
    /// A snapshot received from the leader, not yet persisted.
    var pendingSnapshot: Snapshot?
    var unstable: [Entry] = []
    var offset: UInt64
    var committed: UInt64
    var applied: UInt64

    init(storage: any RaftLogStorage, committed: UInt64, applied: UInt64) {
        self.storage = storage
        offset = storage.lastIndex + 1
        self.committed = committed
        self.applied = applied
        precondition(applied <= committed && committed <= storage.lastIndex, "stored commit index beyond the log")
    }

    var firstIndex: UInt64 {
        if let s = pendingSnapshot { return s.metadata.index + 1 }
        return storage.firstIndex
    }

    var lastIndex: UInt64 {
        if let last = unstable.last { return last.index }
        if let s = pendingSnapshot { return s.metadata.index }
        return offset - 1
    }

    /// The last index the shell has persisted and that is still part of the log.
    var stableLastIndex: UInt64 { pendingSnapshot == nil ? offset - 1 : 0 }

    var lastTerm: UInt64 { term(at: lastIndex) ?? 0 }

    /// Term of the entry at `index`; nil when it was compacted away or lies past the end.
    func term(at index: UInt64) -> UInt64? {
        if index > lastIndex { return nil }
        if index >= offset { return unstable[Int(index - offset)].term }
        if let s = pendingSnapshot {
            return index == s.metadata.index ? s.metadata.term : nil
        }
        if index + 1 < storage.firstIndex { return nil }
        return storage.term(at: index)
    }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool { self.term(at: index) == term }

    /// Raft's "at least as up-to-date" (§5.4.1): compare last terms, then last indexes.
    func isUpToDate(lastIndex otherIndex: UInt64, lastTerm otherTerm: UInt64) -> Bool {
        otherTerm > lastTerm || (otherTerm == lastTerm && otherIndex >= lastIndex)
    }

    /// Entries in `lo..<hi`, at least one and at most `maxBytes` after the first; nil when `lo`
    /// was compacted (the caller sends a snapshot instead).
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) -> [Entry]? {
        if lo < firstIndex { return nil }
        let hi = min(hi, lastIndex + 1)
        guard lo < hi else { return [] }
        var out: [Entry] = []
        if lo < offset {
            out = storage.entries(from: lo, to: min(hi, offset), maxBytes: maxBytes)
            if out.last!.index + 1 < min(hi, offset) { return out }
        }
        var bytes = out.reduce(0) { $0 + $1.byteCount }
        var i = max(lo, offset)
        while i < hi {
            let e = unstable[Int(i - offset)]
            bytes += e.byteCount
            if !out.isEmpty && bytes > maxBytes { break }
            out.append(e)
            i += 1
        }
        return out
    }

    /// Appends entries that may overlap the tail: anything at or after the first new index is
    /// replaced. Committed entries are never replaced.
    mutating func append(_ new: [Entry]) {
        guard let first = new.first else { return }
        precondition(first.index > committed, "cannot overwrite committed entry \(first.index) (commit \(committed))")
        precondition(first.index <= lastIndex + 1, "append leaves a gap")
        if first.index <= offset {
            // Replaces stable entries too: the shell truncates them when it persists this tail.
            offset = first.index
            unstable = new
        } else {
            unstable.removeSubrange(Int(first.index - offset)...)
            unstable.append(contentsOf: new)
        }
    }

    /// The first index where `new` disagrees with the log, or nil when the log already holds all
    /// of it (Figure 2: "if an existing entry conflicts with a new one, delete it and all after").
    func firstConflict(_ new: [Entry]) -> UInt64? {
        for e in new where !matchTerm(e.index, e.term) { return e.index }
        return nil
    }

    /// The last index `<= index` whose term is `<= term`: where a leader's log with an entry of
    /// `term` at `index` might agree with ours. Used for fast backtracking on both sides.
    func lastIndexWithTerm(atMost term: UInt64, from index: UInt64) -> (index: UInt64, term: UInt64) {
        var i = min(index, lastIndex)
        while true {
            guard let t = self.term(at: i) else { return (i, 0) }
            if t <= term || i == 0 { return (i, t) }
            i -= 1
        }
    }

    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Replaces the whole log with a snapshot from the leader.
    mutating func restore(_ snap: Snapshot) {
        pendingSnapshot = snap
        unstable = []
        offset = snap.metadata.index + 1
        committed = snap.metadata.index
    }

    /// The shell persisted entries through (`index`, `term`): they leave the unstable tail,
    /// unless a later append replaced them in the meantime.
    mutating func stableTo(index: UInt64, term: UInt64) {
        guard index >= offset, matchTerm(index, term) else { return }
        unstable.removeFirst(Int(index - offset + 1))
        offset = index + 1
    }

    mutating func stableSnapshotTo(index: UInt64) {
        if pendingSnapshot?.metadata.index == index { pendingSnapshot = nil }
    }

    /// Committed entries not yet handed out for applying, after `from`, within a byte budget.
    func committedEntries(after from: UInt64, maxBytes: Int) -> [Entry] {
        guard from < committed else { return [] }
        return entries(from: from + 1, to: committed + 1, maxBytes: maxBytes) ?? []
    }
}
