import Foundation
import Glibc
import JobStore
import Model
import Shared
import Storage
import Synchronization

/// The single-node log: commands become WAL records, one fsync covers every record queued while
/// the previous fsync ran, and each command is applied right after its record is durable.
///
/// Ordering contract (from `GroupCommitLog`): completions run on the log's writer thread in index
/// order, so `apply` sees commands in log order and the store never runs ahead of the disk.
final class LocalReplicator: Replicator {
    private let log: GroupCommitLog
    private let store: StoreHandle
    private let snapshotter: Snapshotter
    private let health: StorageHealth
    private let onApplied: @Sendable (UInt64, Command, CommandResult) -> Void

    /// `onApplied` runs after each command is applied, in log order, before its proposer hears.
    /// A write or fsync error fails `health` (fail-stop: see `StorageHealth`).
    init(log: GroupCommitLog, store: StoreHandle, snapshotter: Snapshotter, health: StorageHealth,
         onApplied: @escaping @Sendable (UInt64, Command, CommandResult) -> Void) {
        self.log = log
        self.health = health
        self.store = store
        self.snapshotter = snapshotter
        self.onApplied = onApplied
    }

    func propose(_ command: Command, completion: @escaping @Sendable (Result<CommandResult, ProposeError>) -> Void) {
        let store = self.store
        let snapshotter = self.snapshotter
        let onApplied = self.onApplied
        let health = self.health
        let encoded: [UInt8]
        switch command.boundedEncoding() {
        case .success(let bytes): encoded = bytes
        case .failure(let tooLarge): return completion(.failure(.tooLarge(tooLarge)))
        }
        log.submit(encoded) { result in
            switch result {
            case .success(let index):
                let applied = store.apply(command, index: index)
                onApplied(index, command, applied)
                completion(.success(applied))
                snapshotter.applied(index)
            case .failure(.overloaded):
                // A failed log refuses everything with its error, so this is only a full queue.
                completion(.failure(.overloaded))
            case .failure(let error):
                // Refusals of one record (too large) or of a closing log say nothing about the disk.
                switch error {
                case .recordTooLarge, .closed: break
                default: health.fail(error)
                }
                completion(.failure(.storageFailed(health.failed?.reason ?? "\(error)")))
            }
        }
    }

    /// Lets a snapshot being written finish (so its truncation never meets a closed log and a
    /// stop right after a burst of writes leaves the snapshot behind), then closes the log.
    func close() {
        snapshotter.waitUntilIdle(timeout: .seconds(30))
        log.close()
    }
}

/// Takes a snapshot every `everyEntries` applied entries, on its own thread, then drops the WAL
/// segments the snapshots make redundant. A copy of the store is taken under its lock (cheap:
/// copy-on-write), so writers are not held up while the snapshot is encoded and written.
final class Snapshotter: Sendable {
    private struct State {
        var lastSnapshotIndex: UInt64
        var running = false
    }

    private let state: Mutex<State>
    private let everyEntries: UInt64
    private let store: StoreHandle
    private let snapshots: SnapshotStore
    private let truncateLog: @Sendable (UInt64) -> Void
    private let onFailure: @Sendable (any Error) -> Void
    private let logger: Logger
    /// Entered while a snapshot thread runs.
    private let running = DispatchGroup()

    init(lastSnapshotIndex: UInt64, everyEntries: UInt64, store: StoreHandle, snapshots: SnapshotStore,
         logger: Logger, truncateLog: @escaping @Sendable (UInt64) -> Void,
         onFailure: @escaping @Sendable (any Error) -> Void) {
        state = Mutex(State(lastSnapshotIndex: lastSnapshotIndex))
        self.everyEntries = everyEntries
        self.store = store
        self.snapshots = snapshots
        self.logger = logger
        self.truncateLog = truncateLog
        self.onFailure = onFailure
    }

    func applied(_ index: UInt64) {
        let start = state.withLock { s -> Bool in
            guard !s.running, index >= s.lastSnapshotIndex + everyEntries else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        running.enter()
        let thread = Thread { [self] in
            defer { running.leave() }
            // Encoding a large store takes a core for a second or more; at the lowest priority it
            // yields to the threads answering clients instead of adding to their tail latency.
            // (On Linux the nice value of `who` 0 is the calling thread's own.)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            self.takeSnapshot()
        }
        thread.name = "fuller-snapshot"
        thread.start()
    }

    /// Waits (blocking, at most `timeout`) until no snapshot thread runs; false if one still does.
    @discardableResult
    func waitUntilIdle(timeout: Duration) -> Bool {
        guard running.wait(timeout: .now() + .milliseconds(Int(timeout.wholeMilliseconds))) == .timedOut else { return true }
        logger.warn("a snapshot is still being written", ["waitedSeconds": "\(timeout.seconds)"])
        return false
    }

    /// Writes a snapshot now (also used at shutdown). Returns the index it covers.
    @discardableResult
    func takeSnapshot() -> UInt64? {
        let copy = store.copy()
        defer { state.withLock { $0.running = false } }
        guard copy.appliedIndex > 0 else { return nil }
        do {
            let started = ContinuousClock.now
            let bytes = copy.snapshot()
            try snapshots.save(index: copy.appliedIndex, term: 0, payload: bytes)
            state.withLock { $0.lastSnapshotIndex = copy.appliedIndex }
            if let safe = snapshots.truncationSafeIndex { truncateLog(safe) }
            logger.info("snapshot written", ["index": "\(copy.appliedIndex)", "bytes": "\(bytes.count)",
                                             "seconds": "\((ContinuousClock.now - started).seconds)"])
            return copy.appliedIndex
        } catch {
            onFailure(error)   // a disk that cannot take a snapshot will not take the log either
            return nil
        }
    }
}
