import Foundation
import Testing
@testable import Storage

@Suite struct SnapshotStoreTests {
    @Test func savesLoadsAndKeepsTheNewestTwo() throws {
        try withStorageDirectory { dir in
            let store = try SnapshotStore(directory: dir, fsyncEnabled: true)
            #expect(try store.loadLatest() == nil)
            #expect(store.truncationSafeIndex == nil)
            try store.save(index: 10, term: 1, payload: walPayload(10))
            #expect(store.truncationSafeIndex == nil)
            try store.save(index: 20, term: 2, payload: walPayload(20))
            try store.save(index: 30, term: 2, payload: [])
            #expect(try store.snapshotIndexes() == [30, 20])
            #expect(store.truncationSafeIndex == 20)
            #expect(try store.loadLatest() == Snapshot(index: 30, term: 2, payload: []))
            #expect(throws: StorageError.outOfOrder(expected: 30, got: 25)) { try store.save(index: 25, term: 2, payload: []) }
            try store.save(index: 30, term: 3, payload: [1])  // the same index replaces it
            #expect(try store.loadLatest() == Snapshot(index: 30, term: 3, payload: [1]))
        }
    }

    @Test func leftoverTemporaryFileIsIgnoredAndRemoved() throws {
        try withStorageDirectory { dir in
            let store = try SnapshotStore(directory: dir, fsyncEnabled: false)
            try store.save(index: 5, term: 1, payload: walPayload(5))
            let temporary = dir + "/" + SnapshotStore.fileName(9) + ".tmp"
            try writeStorageFile(temporary, [1, 2, 3])  // a crash before the rename
            #expect(try store.loadLatest()?.index == 5)
            _ = try SnapshotStore(directory: dir, fsyncEnabled: false)
            #expect(!FileManager.default.fileExists(atPath: temporary))
            #expect(try store.snapshotIndexes() == [5])
        }
    }

    /// Every single-byte flip and every truncation of a snapshot file is caught.
    @Test func everyDamagedByteIsDetected() throws {
        try withStorageDirectory { dir in
            let store = try SnapshotStore(directory: dir, fsyncEnabled: false)
            try store.save(index: 7, term: 3, payload: walPayload(7, bytes: 40))
            let path = dir + "/" + SnapshotStore.fileName(7)
            let good = try readStorageFile(path)
            for position in 0..<good.count {
                var bad = good
                bad[position] ^= 0x20
                #expect(throws: StorageError.self, "byte \(position)") {
                    try SnapshotStore.decode(bad, name: "s", index: 7)
                }
            }
            for length in 0..<good.count {
                #expect(throws: StorageError.self) { try SnapshotStore.decode(Array(good[..<length]), name: "s", index: 7) }
            }
            #expect(try SnapshotStore.decode(good, name: "s", index: 7).payload == walPayload(7, bytes: 40))
        }
    }

    @Test func corruptNewestFallsBackToTheOlderOne() throws {
        try withStorageDirectory { dir in
            let store = try SnapshotStore(directory: dir, fsyncEnabled: false)
            try store.save(index: 10, term: 1, payload: walPayload(10))
            try store.save(index: 20, term: 1, payload: walPayload(20))
            let newest = dir + "/" + SnapshotStore.fileName(20)
            var bytes = try readStorageFile(newest)
            bytes[bytes.count - 1] ^= 1
            try writeStorageFile(newest, bytes)
            let skipped = CompletionRecorder<StorageError>()
            let load = try store.loadLatest(skipped: skipped.append)
            #expect(load == Snapshot(index: 10, term: 1, payload: walPayload(10)))
            #expect(skipped.all == [.corrupt(file: SnapshotStore.fileName(20), offset: 32, reason: "checksum mismatch")])
            #expect(try readStorageFile(newest + ".corrupt") == bytes)
            // Only one good snapshot is left, so the WAL may not be truncated until there are two.
            #expect(store.truncationSafeIndex == nil)
        }
    }

    @Test func onlySnapshotCorruptIsAnError() throws {
        try withStorageDirectory { dir in
            let store = try SnapshotStore(directory: dir, fsyncEnabled: false)
            try store.save(index: 10, term: 1, payload: walPayload(10))
            try writeStorageFile(dir + "/" + SnapshotStore.fileName(10), Array("not a snapshot at all, no".utf8) + [UInt8](repeating: 0, count: 20))
            #expect(throws: StorageError.corrupt(file: SnapshotStore.fileName(10), offset: 0, reason: "not a snapshot file (bad magic)")) {
                try store.loadLatest()
            }
        }
    }

    /// The documented rule end to end: truncate the WAL only through the older kept snapshot, and
    /// a corrupt newest snapshot still leaves snapshot + WAL able to rebuild everything.
    @Test func fallbackIsSafeUnderTheTruncationRule() throws {
        try withStorageDirectory { dir in
            let walOptions = walTestOptions(segmentBytesMax: 120)
            let (log, _) = try WriteAheadLog.open(directory: dir + "/wal", options: walOptions)
            try log.append(contentsOf: walEntries(1...30))
            let store = try SnapshotStore(directory: dir + "/snapshots", fsyncEnabled: false)
            try store.save(index: 10, term: 1, payload: [10])
            try store.save(index: 20, term: 1, payload: [20])
            try log.truncatePrefix(through: try #require(store.truncationSafeIndex))
            #expect(log.firstIndex > 1 && log.firstIndex <= 11)
            try writeStorageFile(dir + "/snapshots/" + SnapshotStore.fileName(20), [0])
            let restored = try #require(try store.loadLatest())
            #expect(restored.index == 10)
            #expect(try log.entries(from: restored.index + 1, maxBytes: .max) == walEntries(11...30))
        }
    }
}
