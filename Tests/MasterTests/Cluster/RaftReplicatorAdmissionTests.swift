import Dispatch
import Foundation
import Synchronization
import Testing
@testable import JobStore
@testable import Master
@testable import Raft
@testable import Shared

/// Frames a hostile or broken peer sends, driven into a real replicator (real storage, its own
/// loop thread) as the transport would: the node counts each drop, stays up, and restarts.
/// Node 1 is under test; the test plays node 2, a leader in term 5.
@Suite struct RaftReplicatorAdmissionTests {
    final class Events: Sendable {
        let dropped = Mutex<[String]>([])
        let applied = Mutex<[UInt64]>([])
        let signal = DispatchSemaphore(value: 0)

        /// Waits (woken by each event) until `condition` holds, at most 10 s.
        func wait(_ condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while !condition() {
                guard ContinuousClock.now < deadline else { return false }
                _ = signal.wait(timeout: .now() + .milliseconds(200))
            }
            return true
        }
    }

    static func replicator(_ directory: String, _ events: Events) throws -> RaftReplicator {
        var raft = RaftConfig(id: 1, initialVoters: [1, 2], seed: 7)
        // Node 1 never campaigns while the test runs: only the test's frames move it.
        raft.electionTicksMin = 100_000
        raft.electionTicksMax = 200_000
        return try RaftReplicator(
            configuration: .init(raft: raft, tick: .milliseconds(10)),
            storage: try DurableRaftStorage(directory: directory, fsync: false), store: StoreHandle(JobStore()),
            logger: Logger(component: "test", minimumLevel: .error),
            health: StorageHealth(logger: Logger(component: "test", minimumLevel: .error), dataDirectory: directory),
            send: { _ in }, leaderAPI: { _ in nil },
            onApplied: { index, _, _ in events.applied.withLock { $0.append(index) }; events.signal.signal() },
            onDropped: { reason in events.dropped.withLock { $0.append(reason) }; events.signal.signal() })
    }

    static func append(index: UInt64, logTerm: UInt64, _ entries: [Entry], commit: UInt64) -> [UInt8] {
        var m = Message(kind: .append, from: 2, to: 1, term: 5)
        (m.index, m.logTerm, m.entries, m.commit) = (index, logTerm, entries, commit)
        return RaftWire.encode(m)
    }

    @Test func hostileFramesAreDroppedAndCountedAndTheNodeCarriesOn() throws {
        let directory = NSTemporaryDirectory() + "fuller-admission-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = Events()
        let node = try Self.replicator(directory, events)

        // A snapshot of 16 garbage bytes: dropped before anything is persisted.
        var snapshot = Message(kind: .snapshot, from: 2, to: 1, term: 5)
        snapshot.snapshot = Snapshot(metadata: SnapshotMetadata(index: 10, term: 5, conf: ConfState(voters: [1, 2])),
                                     data: [UInt8](repeating: 0xA5, count: 16))
        node.receive([RaftWire.encode(snapshot)], from: 2)
        // Not decodable at all; and a frame whose `from` is not the member that sent it.
        node.receive([[1, 2, 3]], from: 2)
        var impostor = Message(kind: .heartbeat, from: 3, to: 1, term: 5)
        impostor.commit = 1
        node.receive([RaftWire.encode(impostor)], from: 2)
        // Addressed to another node: the core drops it.
        node.receive([RaftWire.encode(Message(kind: .heartbeat, from: 2, to: 9, term: 5))], from: 2)
        #expect(events.wait { events.dropped.withLock { $0.count } >= 4 })
        #expect(events.dropped.withLock { $0 } == ["badSnapshot", "undecodable", "wrongSender", "misaddressed"])

        // A committed entry that does not decode is skipped (alike on every member); the next applies.
        node.receive([Self.append(index: 1, logTerm: 1, [Entry(term: 5, index: 2, data: [0xFF, 0x00])], commit: 2)], from: 2)
        let kill = Command.killJob(jobId: "j-none", atMs: 1).encoded()
        node.receive([Self.append(index: 2, logTerm: 5, [Entry(term: 5, index: 3, data: kill)], commit: 3)], from: 2)
        #expect(events.wait { events.applied.withLock { $0 } == [3] })
        #expect(events.dropped.withLock { $0.last } == "undecodableEntry")
        // The loop publishes its status after the apply callback: wait for it (polled; no event).
        #expect(events.wait { node.status.applied == 3 }, "status never showed entry 3 applied")
        #expect(node.status.leader == 2)
        node.stop()

        // Nothing of the garbage snapshot reached the disk: the node restarts with its log.
        let restarted = try Self.replicator(directory, Events())
        restarted.stop()
        let storage = try DurableRaftStorage(directory: directory, fsync: false)
        #expect(storage.snapshot() == nil && storage.lastIndex == 3)
    }
}
