import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import JobStore
@testable import Master
@testable import Raft
@testable import Shared
@testable import Storage

/// A snapshot file that takes long to write (a slow or busy disk) must not stall the Raft loop:
/// the node keeps committing while it is written, and the log is compacted only once it is durable.
@Suite struct RaftReplicatorSlowSnapshotTests {
    @Test(.timeLimit(.minutes(1)))
    func proposalsCommitWhileASnapshotIsBeingWritten() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let logger = Logger(component: "master", sink: CapturingLogSink())
        let storage = try DurableRaftStorage(directory: dir.path, fsync: false,
                                             margin: DurableRaftStorage.CatchUpMargin(entries: 0, bytesMax: 0))
        var raft = RaftConfig(id: 1, initialVoters: [1], seed: 1)
        raft.electionTicksMin = 2
        raft.electionTicksMax = 4
        let replicator = try RaftReplicator(
            configuration: RaftReplicator.Configuration(raft: raft, tick: .milliseconds(10), snapshotEveryEntries: 20),
            storage: storage, store: StoreHandle(JobStore()), logger: logger,
            health: StorageHealth(logger: logger, dataDirectory: dir.path), send: { _ in }, leaderAPI: { _ in nil },
            onApplied: { _, _, _ in })
        defer { replicator.stop() }
        try await Self.wait("the node never led") { replicator.status.role == .leader }

        // Every write to the snapshot directory stalls until released.
        let watch = StorageFaults.watch(dir.path + "/snapshots", rules: [StorageFaults.Rule(.write, .hold)])
        defer { StorageFaults.remove(watch) }
        let writing = { StorageFaults.calls(watch).contains { $0.operation == .write } }
        var committed = 0
        while !writing() {
            try #require(committed < 40, "no snapshot write started")
            try await Self.commit(replicator, within: .seconds(3))
            committed += 1
        }

        // The loop still steps: a proposal commits while the snapshot file is held.
        try await Self.commit(replicator, within: .seconds(3))
        #expect(storage.snapshot() == nil, "the log was compacted before the snapshot was durable")
        #expect(storage.firstIndex == 1)

        StorageFaults.release(watch)
        try await Self.wait("the snapshot never became the log's base") { (storage.snapshot()?.metadata.index ?? 0) >= 20 }
        #expect(storage.firstIndex == storage.snapshot()!.metadata.index + 1)
        #expect(try SnapshotStore(directory: dir.path + "/snapshots").loadLatest()?.index == storage.snapshot()?.metadata.index)
    }

    /// The writer runs off the loop, but its failure still stops the node (fail-stop, as for a WAL
    /// write): nothing is compacted, and writes are refused naming the storage failure.
    @Test(.timeLimit(.minutes(1)))
    func aFailedSnapshotWriteStopsTheNode() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let logger = Logger(component: "master", sink: CapturingLogSink())
        let health = StorageHealth(logger: logger, dataDirectory: dir.path)
        let storage = try DurableRaftStorage(directory: dir.path, fsync: false)
        var raft = RaftConfig(id: 1, initialVoters: [1], seed: 1)
        raft.electionTicksMin = 2
        raft.electionTicksMax = 4
        let replicator = try RaftReplicator(
            configuration: RaftReplicator.Configuration(raft: raft, tick: .milliseconds(10), snapshotEveryEntries: 20),
            storage: storage, store: StoreHandle(JobStore()), logger: logger, health: health, send: { _ in },
            leaderAPI: { _ in nil }, onApplied: { _, _, _ in })
        defer { replicator.stop() }
        try await Self.wait("the node never led") { replicator.status.role == .leader }
        let watch = StorageFaults.watch(dir.path + "/snapshots", rules: [StorageFaults.Rule(.write, .fail(errno: ENOSPC))])
        defer { StorageFaults.remove(watch) }
        // Writes commit until the 20th applied entry starts a snapshot, whose write fails.
        var committed = 0
        while health.failed == nil, committed < 40, (try? await Self.commit(replicator, within: .seconds(10))) != nil { committed += 1 }
        try await Self.wait("the failed snapshot write did not stop the node") { health.failed != nil }
        #expect(health.failed?.reason.contains("No space left on device") == true)
        #expect(storage.snapshot() == nil)
        let refused = Mutex<ProposeError?>(nil)
        try await Self.wait("a write to the stopped node was not refused") {
            replicator.propose(.killJob(jobId: "j", atMs: 0)) { if case .failure(let e) = $0 { refused.withLock { $0 = e } } }
            if case .storageFailed? = refused.withLock({ $0 }) { return true }
            return false
        }
    }

    static func commit(_ replicator: RaftReplicator, within limit: Duration) async throws {
        let outcome = Mutex<Result<CommandResult, ProposeError>?>(nil)
        replicator.propose(.killJob(jobId: "j", atMs: 0)) { r in outcome.withLock { $0 = r } }
        try await wait("a proposal did not commit within \(limit)", limit: limit) { outcome.withLock { $0 } != nil }
        if case .failure(let e)? = outcome.withLock({ $0 }) { throw TestFailure("the proposal failed: \(e)") }
    }

    static func wait(_ failure: String, limit: Duration = .seconds(10), until done: () -> Bool) async throws {
        let started = ContinuousClock.now
        while !done() {
            try #require(ContinuousClock.now - started < limit, "\(failure)")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
