import Glibc
import Shared

/// A state-machine snapshot: everything applied through `index`, taken in `term`.
public struct Snapshot: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var payload: [UInt8]

    public init(index: UInt64, term: UInt64, payload: [UInt8]) {
        self.index = index
        self.term = term
        self.payload = payload
    }
}

/// Snapshot files in one directory, written atomically and kept two deep.
///
/// File `snapshot-<index, 20 digits>`, integers little-endian:
///
///     "FLSN" | version u32 (1) | index u64 | term u64 | payload length u64 | crc32c u32 | payload
///
/// The checksum covers the 32 bytes before it and the payload. `save` writes `<name>.tmp`, fsyncs
/// it, renames it into place and fsyncs the directory, so a crash leaves either the old set or the
/// new one, plus at worst a `.tmp` that is ignored and later removed.
///
/// Safety rule for falling back: the newest two snapshots are kept, and the WAL may only be
/// truncated through the *older* of the two (`truncationSafeIndex`). So when the newest snapshot is
/// found corrupt, the older one plus the WAL entries after it still rebuild the same state, and
/// `loadLatest` falls back to it. With no valid snapshot left at all, entries the WAL no longer
/// holds would be missing, so `loadLatest` throws instead of starting empty.
///
/// One writer at a time: the store holds no state of its own, but two concurrent `save`s would
/// race on which files are kept.
public struct SnapshotStore: Sendable {
    public static let retainedCount = 2
    static let magic: [UInt8] = Array("FLSN".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 36

    public let directory: String
    public let fsyncEnabled: Bool

    /// Opens (creating if needed) the snapshot directory and removes `.tmp` files left by a crash.
    public init(directory: String, fsyncEnabled: Bool = true) throws(StorageError) {
        self.directory = directory
        self.fsyncEnabled = fsyncEnabled
        try POSIXFile.makeDirectory(directory)
        for name in try POSIXFile.list(directory) where name.hasPrefix("snapshot-") && name.hasSuffix(".tmp") {
            try POSIXFile.unlink(directory + "/" + name)
        }
    }

    /// Writes a snapshot durably, then deletes all but the newest `retainedCount`.
    /// `index` must be at least the newest snapshot's index (an equal index replaces it).
    public func save(index: UInt64, term: UInt64, payload: [UInt8]) throws(StorageError) {
        let existing = try snapshotIndexes()
        if let newest = existing.first, index < newest { throw .outOfOrder(expected: newest, got: index) }
        let path = directory + "/" + Self.fileName(index)
        let temporary = path + ".tmp"
        let fd = try POSIXFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            let header = Self.header(index: index, term: term, payload: payload)
            try header.withStorageBytes { (raw) throws(StorageError) in try POSIXFile.write(fd, raw, at: 0, path: temporary) }
            try payload.withStorageBytes { (raw) throws(StorageError) in
                try POSIXFile.write(fd, raw, at: Self.headerBytes, path: temporary)
            }
            if fsyncEnabled { try POSIXFile.sync(fd, path: temporary) }
            POSIXFile.close(fd)
        } catch {
            POSIXFile.close(fd)
            try? POSIXFile.unlink(temporary)
            throw error
        }
        try POSIXFile.rename(temporary, path)
        if fsyncEnabled { try POSIXFile.syncDirectory(directory) }
        let stale = try snapshotIndexes().dropFirst(Self.retainedCount)
        for old in stale { try POSIXFile.unlink(directory + "/" + Self.fileName(old)) }
        if fsyncEnabled && !stale.isEmpty { try POSIXFile.syncDirectory(directory) }
    }

    /// The newest valid snapshot, or nil when there has never been one. A corrupt newer file is
    /// renamed `*.corrupt` and passed to `skipped` (log it) when an older valid snapshot exists;
    /// when none is valid, throws the newest one's error.
    public func loadLatest(skipped: (StorageError) -> Void = { _ in }) throws(StorageError) -> Snapshot? {
        var corrupt: [StorageError] = []
        for index in try snapshotIndexes() {
            let name = Self.fileName(index)
            do {
                let snapshot = try Self.decode(POSIXFile.readAll(directory + "/" + name), name: name, index: index)
                for case let .corrupt(file, _, _) in corrupt {
                    try POSIXFile.rename(directory + "/" + file, directory + "/" + file + ".corrupt")
                }
                if fsyncEnabled && !corrupt.isEmpty { try POSIXFile.syncDirectory(directory) }
                corrupt.forEach(skipped)
                return snapshot
            } catch let error where error.isCorruption {
                corrupt.append(error)
            }
        }
        if let newest = corrupt.first { throw newest }
        return nil
    }

    /// The index through which the WAL may safely be truncated: the older of the two kept
    /// snapshots, or nil while fewer than two exist (or the directory cannot be listed, which
    /// only postpones truncation). See the safety rule on the type.
    public var truncationSafeIndex: UInt64? {
        guard let indexes = try? snapshotIndexes(), indexes.count >= Self.retainedCount else { return nil }
        return indexes[Self.retainedCount - 1]
    }

    /// Indexes of the snapshot files present, newest first (not `.tmp` or `.corrupt` ones).
    func snapshotIndexes() throws(StorageError) -> [UInt64] {
        try POSIXFile.list(directory).compactMap { name -> UInt64? in
            guard name.hasPrefix("snapshot-"), name.count == 29 else { return nil }
            return UInt64(name.dropFirst(9))
        }.sorted(by: >)
    }

    static func fileName(_ index: UInt64) -> String {
        let digits = String(index)
        return "snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
