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

/// A follower whose disk refuses the append it was sent: it acknowledges nothing, votes for
/// nobody afterwards, logs one line naming the file and errno, and refuses writes saying why.
@Suite struct RaftReplicatorStorageFailureTests {
    @Test(.timeLimit(.minutes(1)))
    func aFollowerWhoseWriteFailsNeitherAcksNorVotes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let sink = CapturingLogSink()
        let logger = Logger(component: "master", sink: sink)
        let health = StorageHealth(logger: logger, dataDirectory: dir.path)
        let sent = Mutex<[Message]>([])
        var raft = RaftConfig(id: 1, initialVoters: [1, 2, 3], seed: 1)
        raft.electionTicksMin = 1_000   // it must not campaign on its own during the test
        raft.electionTicksMax = 2_000
        let replicator = try RaftReplicator(
            configuration: RaftReplicator.Configuration(raft: raft, tick: .milliseconds(10)),
            storage: try DurableRaftStorage(directory: dir.path, fsync: false), store: StoreHandle(JobStore()),
            logger: logger, health: health, send: { m in sent.withLock { $0.append(m) } }, leaderAPI: { _ in nil },
            onApplied: { _, _, _ in })
        defer { replicator.stop() }

        // The bootstrap configuration entry is on disk before the disk fills.
        let booted = ContinuousClock.now
        while replicator.status.lastIndex < 1 {
            try #require(ContinuousClock.now - booted < .seconds(10), "the node never wrote its first entry")
            try await Task.sleep(for: .milliseconds(5))
        }
        let watch = StorageFaults.watch(dir.path, rules: [StorageFaults.Rule(.write, .fail(errno: ENOSPC))])
        defer { StorageFaults.remove(watch) }
        var append = Message(kind: .append, from: 2, to: 1, term: 2)
        append.index = 1
        append.logTerm = 1
        append.commit = 1
        append.entries = [Entry(term: 2, index: 2, data: Array("x".utf8))]
        _ = replicator.receive([RaftWire.encode(append)], from: 2)
        let started = ContinuousClock.now
        // Stopped: the loop recorded the failure and shut down (it stops right after failing).
        while !replicator.inbox.withLock({ $0.stopped }) {
            try #require(ContinuousClock.now - started < .seconds(10), "the write never failed")
            try await Task.sleep(for: .milliseconds(5))
        }
        var vote = Message(kind: .vote, from: 3, to: 1, term: 5)
        vote.index = 10
        vote.logTerm = 4
        _ = replicator.receive([RaftWire.encode(vote)], from: 3)
        #expect(replicator.inbox.withLock { $0.messages.isEmpty }, "a stopped node still queues peer messages")
        #expect(sent.withLock { $0 }.filter { $0.kind == .appendResponse || $0.kind == .voteResponse }.isEmpty)
        #expect(replicator.status.role == .follower && replicator.status.leader == 0)

        let refused = Mutex<ProposeError?>(nil)
        replicator.propose(.killJob(jobId: "j", atMs: 0)) { if case .failure(let e) = $0 { refused.withLock { $0 = e } } }
        guard case .storageFailed(let reason)? = refused.withLock({ $0 }) else {
            throw TestFailure("a write to a failed node was refused with \(String(describing: refused.withLock { $0 }))")
        }
        #expect(reason.contains("No space left on device"))
        let lines = sink.lines.filter { $0.contains("storage failed") }
        #expect(lines.count == 1 && lines.first?.contains(#""errno":28"#) == true && lines.first?.contains(dir.path) == true, "\(lines)")
    }
}
