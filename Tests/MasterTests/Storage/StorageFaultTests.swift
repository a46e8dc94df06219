import Foundation
import Glibc
import Testing
import TestSupport
@testable import Storage

/// Faults injected under a path prefix (`StorageFaults`): what the storage layer does when the
/// disk refuses, and which durability calls it makes.
@Suite struct StorageFaultTests {
    /// The hard-state file's directory entry is made durable when the file is created: without
    /// it, a crash after the first vote could lose the whole file, and the vote with it.
    @Test func hardStateCreationSyncsItsDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let watch = StorageFaults.watch(dir.path)
        defer { StorageFaults.remove(watch) }
        let (file, _) = try HardStateFile.open(path: dir.path + "/hard-state", fsyncEnabled: true)
        try file.save(StoredHardState(term: 2, vote: 1, commit: 0))
        let calls = StorageFaults.calls(watch).map(\.description)
        #expect(calls.contains("syncDirectory \(dir.path)"), "\(calls)")
    }

    /// A full disk fails the log's writes with the errno and the path, and the log stays failed.
    @Test func fullDiskFailsTheLogNamingThePath() throws {
        try withStorageDirectory { dir in
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            try wal.append(contentsOf: walEntries(1...3))
            let watch = StorageFaults.watch(dir, rules: [StorageFaults.Rule(.write, .fail(errno: ENOSPC))])
            defer { StorageFaults.remove(watch) }
            #expect(throws: StorageError.io("write \(dir)/\(WriteAheadLog.segmentName(1))", errno: ENOSPC)) {
                try wal.append(contentsOf: walEntries(4...4))
            }
            StorageFaults.remove(watch)
            #expect(throws: StorageError.io("write \(dir)/\(WriteAheadLog.segmentName(1))", errno: ENOSPC)) {
                try wal.append(contentsOf: walEntries(4...4))
            }
        }
    }
}
