import Foundation
import Glibc
import Testing
import TestSupport
@testable import Master
@testable import Raft
@testable import Storage

/// Raft's storage on disk across crashes, and the log it keeps for followers that fall behind.
@Suite struct DurableRaftStorageTests {
    static let childVariable = "FULLER_RAFT_STORAGE_CRASH_CHILD_DIR"
    static let crashStatus: Int32 = 42

    /// A real crash (the style of `WriteAheadLogCrashTests`): a child process installs a leader's
    /// snapshot and dies after the snapshot file is durable but before the WAL is reset. The
    /// restarted follower must take the entries after the snapshot, not refuse them forever.
    @Test(.timeLimit(.minutes(1)))
    func crashBetweenSnapshotInstallAndWALResetDoesNotBrickTheFollower() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try WriteAheadLogCrashTests.currentExecutable())
        child.arguments = ["--testing-library", "swift-testing", "--filter", "crashChildInstallsSnapshot"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: dir.path]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        child.waitUntilExit()
        try #require(child.terminationReason == .exit && child.terminationStatus == Self.crashStatus,
                     "the child did not stop at the crash point (status \(child.terminationStatus))")

        do {
            let storage = try DurableRaftStorage(directory: dir.path, fsync: false)
            #expect(storage.snapshot()?.metadata.index == 1_000)
            try storage.persist(Self.ready(entries: Self.entries(1_001...1_003, term: 2)))
            #expect(storage.lastIndex == 1_003)
        }
        let reopened = try DurableRaftStorage(directory: dir.path, fsync: false)
        #expect(reopened.lastIndex == 1_003)
        #expect(reopened.entries(from: 1_001, to: 1_004, maxBytes: .max).map(\.term) == [2, 2, 2])
        #expect(reopened.term(at: 1_000) == 2)
    }

    /// The child half; skipped unless the test above started this process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[childVariable] != nil))
    func crashChildInstallsSnapshot() throws {
        let dir = try #require(ProcessInfo.processInfo.environment[Self.childVariable])
        let storage = try DurableRaftStorage(directory: dir, fsync: true)
        try storage.persist(Self.ready(entries: Self.entries(1...50, term: 1), hard: HardState(term: 1, vote: 0, commit: 50)))
        // The first file the WAL reset creates is the crash point: the snapshot is saved by then.
        let watch = StorageFaults.watch(dir + "/wal", rules: [StorageFaults.Rule(.open, .exit(status: Self.crashStatus))])
        defer { StorageFaults.remove(watch) }
        let snapshot = Raft.Snapshot(metadata: SnapshotMetadata(index: 1_000, term: 2, conf: ConfState(voters: [1, 2, 3])), data: [7])
        try storage.persist(Self.ready(hard: HardState(term: 2, vote: 0, commit: 1_000), snapshot: snapshot))
    }

    /// A fresh data directory: its `wal`, `snapshots` and `hard-state` entries are all durable
    /// (the directory is synced after the last of them is created).
    @Test func aFreshDirectorysEntriesAreSyncedAfterTheyAreCreated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let watch = StorageFaults.watch(dir.path)
        defer { StorageFaults.remove(watch) }
        _ = try DurableRaftStorage(directory: dir.path, fsync: true)
        let calls = StorageFaults.calls(watch).map(\.description)
        let created = ["makeDirectory \(dir.path)/wal", "makeDirectory \(dir.path)/snapshots", "open \(dir.path)/hard-state"]
            .compactMap { calls.firstIndex(of: $0) }
        let synced = calls.lastIndex(of: "syncDirectory \(dir.path)")
        #expect(created.count == 3 && synced != nil && created.allSatisfy { $0 < synced! }, "\(calls)")
    }

    /// After a compaction the log before the snapshot is kept up to the margin (in memory and,
    /// across a restart, from the WAL), so a follower a little behind gets entries.
    @Test func compactionKeepsACatchUpMargin() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let margin = DurableRaftStorage.CatchUpMargin(entries: 20, bytesMax: 1 << 20)
        do {
            let storage = try DurableRaftStorage(directory: dir.path, fsync: false, margin: margin)
            try storage.persist(Self.ready(entries: Self.entries(1...300, term: 1), hard: HardState(term: 1, vote: 0, commit: 300)))
            try storage.compact(SnapshotMetadata(index: 250, term: 1, conf: ConfState(voters: [1, 2, 3])), data: [1])
            #expect(storage.firstIndex == 231)
            #expect(storage.term(at: 231) == 1)
            #expect(storage.entries(from: 231, to: 301, maxBytes: .max).count == 70)
        }
        let reopened = try DurableRaftStorage(directory: dir.path, fsync: false, margin: margin)
        #expect(reopened.firstIndex == 231)
        #expect(reopened.lastIndex == 300)
        // The byte budget bounds the margin too: 10 entries of 4 bytes fit in 40 bytes.
        let small = try DurableRaftStorage(directory: dir.path, fsync: false, margin: .init(entries: 20, bytesMax: 40))
        #expect(small.firstIndex == 241)
    }

    /// A compaction is written in two steps (the file off the Raft loop, then the log trimmed on
    /// it): entries appended while the file is written stay, and a crash between the two steps
    /// reopens with the snapshot as base and every entry still there.
    @Test func crashBetweenSnapshotWriteAndLogTrimRecovers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let margin = DurableRaftStorage.CatchUpMargin(entries: 0, bytesMax: 0)
        let metadata = SnapshotMetadata(index: 250, term: 1, conf: ConfState(voters: [1, 2, 3]))
        do {
            let storage = try DurableRaftStorage(directory: dir.path, fsync: false, margin: margin)
            try storage.persist(Self.ready(entries: Self.entries(1...300, term: 1), hard: HardState(term: 1, vote: 0, commit: 300)))
            #expect(try storage.writeSnapshot(metadata, data: [1]))
            // Until the loop hears the file is durable, the log is whole and new entries go on.
            try storage.persist(Self.ready(entries: Self.entries(301...310, term: 1)))
            #expect(storage.firstIndex == 1 && storage.snapshot() == nil)
        }
        let reopened = try DurableRaftStorage(directory: dir.path, fsync: false, margin: margin)
        #expect(reopened.snapshot()?.metadata.index == 250)
        #expect(reopened.firstIndex == 251 && reopened.lastIndex == 310)
        #expect(reopened.entries(from: 251, to: 311, maxBytes: .max).count == 60)
        // A snapshot written later than a newer one (the leader's) is skipped, never an error.
        #expect(try reopened.writeSnapshot(SnapshotMetadata(index: 200, term: 1, conf: ConfState(voters: [1, 2, 3])), data: [2]) == false)
    }

    /// The default margin is thousands of entries: a store compacted at 250 keeps all of them.
    @Test func defaultMarginKeepsRecentEntries() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let storage = try DurableRaftStorage(directory: dir.path, fsync: false)
        try storage.persist(Self.ready(entries: Self.entries(1...300, term: 1), hard: HardState(term: 1, vote: 0, commit: 300)))
        try storage.compact(SnapshotMetadata(index: 250, term: 1, conf: ConfState(voters: [1, 2, 3])), data: [1])
        #expect(storage.firstIndex == 1)
        #expect(storage.snapshot()?.metadata.index == 250)
    }

    /// The Raft core over this storage: a new leader whose log was compacted past a follower's
    /// last entry, but within the margin, sends that follower entries, not the whole store.
    @Test func leaderSendsEntriesNotASnapshotToAFollowerWithinTheMargin() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let storage = try DurableRaftStorage(directory: dir.path, fsync: false)
        var log = [Entry(term: 1, index: 1, kind: .configuration, data: ConfState(voters: [1, 2, 3]).encoded())]
        log += Self.entries(2...300, term: 1)
        try storage.persist(Self.ready(entries: log, hard: HardState(term: 1, vote: 0, commit: 300)))
        try storage.compact(SnapshotMetadata(index: 250, term: 1, conf: ConfState(voters: [1, 2, 3])), data: [1])

        var config = RaftConfig(id: 1, initialVoters: [1, 2, 3], seed: 1)
        config.preVote = false
        var node = RaftNode(config: config, storage: storage, applied: 300)
        node.campaignNow()
        _ = try Self.drain(&node, storage)
        node.step(Message(kind: .voteResponse, from: 2, to: 1, term: 2))
        let probe = try #require(try Self.drain(&node, storage).first { $0.to == 3 && $0.kind == .append })
        try #require(node.role == .leader)
        // Follower 3 holds entries through 240 only: it rejects the leader's first append.
        var reject = Message(kind: .appendResponse, from: 3, to: 1, term: 2)
        reject.reject = true
        reject.index = probe.index
        reject.rejectHint = 240
        reject.logTerm = 1
        node.step(reject)
        let sent = try Self.drain(&node, storage).filter { $0.to == 3 }
        #expect(sent.map(\.kind) == [.append])
        #expect(sent.first?.index == 240)
    }

    static func drain(_ node: inout RaftNode, _ storage: DurableRaftStorage) throws -> [Message] {
        var messages: [Message] = []
        while node.hasReady {
            let rd = node.ready()
            try storage.persist(rd)
            messages += rd.messages
            node.advance(rd)
        }
        return messages
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: Array("e\($0)".utf8)) }
    }

    static func ready(entries: [Entry] = [], hard: HardState? = nil, snapshot: Raft.Snapshot? = nil) -> Ready {
        Ready(hardState: hard, entries: entries, snapshot: snapshot, mustSync: true, messages: [], committedEntries: [],
              readStates: [], softState: nil)
    }
}
