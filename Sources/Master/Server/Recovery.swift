import Foundation
import JobStore
import Model
import Shared
import Storage

/// Rebuilds the store from disk: the newest snapshot, then every WAL entry after it.
enum Recovery {
    struct Result {
        var store: JobStore
        var log: GroupCommitLog
        var snapshots: SnapshotStore
        var snapshotIndex: UInt64
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func open(dataDirectory: String, fsync: Bool, limits: StoreLimits, logger: Logger,
                     onBatch: @escaping @Sendable (BatchStats) -> Void) throws -> Result {
        let walDirectory = dataDirectory + "/wal"
        let snapshotDirectory = dataDirectory + "/snapshots"
        for dir in [dataDirectory, walDirectory, snapshotDirectory] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let snapshots = try SnapshotStore(directory: snapshotDirectory, fsyncEnabled: fsync)
        var store = JobStore(limits: limits)
        var snapshotIndex: UInt64 = 0
        if let snapshot = try snapshots.loadLatest() {
            do { store = try JobStore.restore(snapshot.payload, limits: limits) } catch {
                throw Failure(description: "snapshot \(snapshot.index) in \(snapshotDirectory) does not decode: \(error)")
            }
            snapshotIndex = snapshot.index
        }
        let (wal, report) = try WriteAheadLog.open(directory: walDirectory,
                                                   options: WriteAheadLog.Options(fsyncEnabled: fsync))
        logger.info("WAL recovered", ["report": .string(report.description)])
        try replay(wal, into: &store, after: snapshotIndex, directory: walDirectory)
        return Result(store: store, log: GroupCommitLog(wal: wal, onBatch: onBatch), snapshots: snapshots,
                      snapshotIndex: snapshotIndex)
    }

    /// Applies WAL entries after `snapshotIndex`. A gap between the snapshot and the WAL means
    /// acknowledged writes are missing: that stops the node rather than serving a wrong store.
    private static func replay(_ wal: WriteAheadLog, into store: inout JobStore, after snapshotIndex: UInt64,
                               directory: String) throws {
        guard wal.lastIndex > snapshotIndex else { return }
        guard wal.firstIndex <= snapshotIndex + 1 else {
            throw Failure(description: "WAL in \(directory) starts at \(wal.firstIndex) but the snapshot ends at \(snapshotIndex): entries are missing")
        }
        var next = snapshotIndex + 1
        while next <= wal.lastIndex {
            let entries = try wal.entries(from: next, maxBytes: 8 << 20)
            guard !entries.isEmpty else { break }
            for entry in entries {
                let command: Command
                do { command = try Command(encoded: entry.payload) } catch {
                    throw Failure(description: "WAL entry \(entry.index) in \(directory) does not decode: \(error)")
                }
                _ = store.apply(command, index: entry.index)
                next = entry.index + 1
            }
        }
    }
}
