import Dispatch
import Foundation
import Synchronization

/// One write-plus-fsync of the group-commit writer; the master exports batch size and fsync
/// latency from these.
public struct BatchStats: Sendable, Equatable {
    public var records: Int
    /// Encoded bytes written (headers included).
    public var bytes: Int
    public var fsyncSeconds: Double
}

/// Lets many concurrent request handlers share one fsync.
///
/// `submit` assigns the next log index and queues the record; it never blocks on I/O. One
/// dedicated writer thread loops: take everything queued (at most `maxBatchRecords`), write it
/// with one `append`, fsync once, report `BatchStats`, then run the completions. Whatever is
/// submitted during that fsync becomes the next batch.
///
/// Ordering contracts:
/// - Durable before completion: `completion(.success(index))` runs only after the fsync that
///   covers `index` has returned.
/// - Completions run on the writer thread, one at a time, in index order, so a caller may apply
///   commands to its state machine in log order inside them. They must be quick and must not wait
///   for another submission to complete (that one's completion is queued behind them).
///
/// After an I/O error the log is failed: the failing batch, everything queued and every later
/// submission complete with that error, in index order; nothing half-written is acknowledged.
/// Call `close()` when done: the writer thread holds a reference until then.
public final class GroupCommitLog: Sendable {
    private struct Pending {
        var index: UInt64
        var payload: [UInt8]
        var completion: @Sendable (Result<UInt64, StorageError>) -> Void
    }

    private struct Queue {
        var pending: [Pending] = []
        var queuedBytes = 0
        var nextIndex: UInt64
        var failure: StorageError?
        var closing = false
        /// The writer found nothing to do and is about to wait on `wakeWriter`.
        var writerWaiting = false
    }

    private enum WriterStep {
        case write([Pending])
        case wait
        case exit
    }

    private let queue: Mutex<Queue>
    /// Only the writer appends and syncs; `truncatePrefix` borrows it between batches.
    private let wal: Mutex<WriteAheadLog>
    private let wakeWriter = DispatchSemaphore(value: 0)
    /// Signalled once when the writer thread exits; `close` passes it on to other closers.
    private let writerFinished = DispatchSemaphore(value: 0)
    private let maxBatchRecords: Int
    private let maxQueuedRecords: Int
    private let maxQueuedBytes: Int
    private let recordBytesMax: Int
    private let onBatch: @Sendable (BatchStats) -> Void

    /// Takes ownership of `wal` (recovered, and replayed by the caller) and starts the writer
    /// thread. New records get indexes from `wal.lastIndex + 1`, with term 0.
    public init(wal: sending WriteAheadLog, maxBatchRecords: Int = 4096, maxQueuedRecords: Int = 65_536,
                maxQueuedBytes: Int = 64 << 20, onBatch: @escaping @Sendable (BatchStats) -> Void = { _ in }) {
        precondition(maxBatchRecords > 0 && maxQueuedRecords > 0 && maxQueuedBytes > 0)
        self.maxBatchRecords = maxBatchRecords
        self.maxQueuedRecords = maxQueuedRecords
        self.maxQueuedBytes = maxQueuedBytes
        self.recordBytesMax = wal.options.recordBytesMax
        self.onBatch = onBatch
        self.queue = Mutex(Queue(nextIndex: wal.lastIndex + 1))
        self.wal = Mutex(wal)
        let thread = Thread { [self] in self.runWriter() }
        thread.name = "fuller-wal-writer"
        thread.start()
    }

    /// Queues `payload` as the next record. `completion` gets its index once it is durable, or an
    /// error. Rejections that need no I/O complete at once, on the caller's thread: `.overloaded`
    /// when `maxQueuedRecords` records (or `maxQueuedBytes`) are already waiting,
    /// `.recordTooLarge`, `.closed`, or the error that failed the log.
    public func submit(_ payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, StorageError>) -> Void) {
        guard payload.count <= recordBytesMax else {
            return completion(.failure(.recordTooLarge(bytes: payload.count, max: recordBytesMax)))
        }
        let outcome = queue.withLock { queue -> Result<Bool, StorageError> in
            if let failure = queue.failure { return .failure(failure) }
            if queue.closing { return .failure(.closed) }
            if queue.pending.count >= maxQueuedRecords
                || (queue.queuedBytes > 0 && queue.queuedBytes + payload.count > maxQueuedBytes) {
                return .failure(.overloaded)
            }
            queue.pending.append(Pending(index: queue.nextIndex, payload: payload, completion: completion))
            queue.nextIndex += 1
            queue.queuedBytes += payload.count
            defer { queue.writerWaiting = false }
            return .success(queue.writerWaiting)
        }
        switch outcome {
        case .success(let wake): if wake { wakeWriter.signal() }
        case .failure(let error): completion(.failure(error))
        }
    }

    /// Drops whole WAL segments through `index` once a snapshot covers it (see
    /// `WriteAheadLog.truncatePrefix` and `SnapshotStore.walTruncationIndex`). Waits for the batch
    /// in flight. `index` must already be durable in the log.
    public func truncatePrefix(through index: UInt64) throws(StorageError) {
        try wal.withLock { (wal) throws(StorageError) in
            guard index <= wal.lastIndex else {
                throw .indexOutOfRange(index, firstIndex: wal.firstIndex, lastIndex: wal.lastIndex)
            }
            try wal.truncatePrefix(through: index)
        }
    }

    /// Stops accepting submissions, waits until everything already queued is written, synced and
    /// completed, then closes the WAL. Safe to call more than once, from any thread but a
    /// completion.
    public func close() {
        let wake = queue.withLock { queue -> Bool in
            queue.closing = true
            defer { queue.writerWaiting = false }
            return queue.writerWaiting
        }
        if wake { wakeWriter.signal() }
        writerFinished.wait()
        writerFinished.signal()
    }

    private func runWriter() {
        defer {
            wal.withLock { $0.close() }
            writerFinished.signal()
        }
        while true {
            let step = queue.withLock { queue -> WriterStep in
                if !queue.pending.isEmpty {
                    let count = min(queue.pending.count, maxBatchRecords)
                    let batch = Array(queue.pending[..<count])
                    queue.pending.removeFirst(count)
                    queue.queuedBytes -= batch.reduce(0) { $0 + $1.payload.count }
                    return .write(batch)
                }
                if queue.closing || queue.failure != nil { return .exit }
                queue.writerWaiting = true
                return .wait
            }
            switch step {
            case .write(let batch): write(batch)
            case .wait: wakeWriter.wait()
            case .exit: return
            }
        }
    }

    /// Appends and syncs one batch, then runs its completions in index order.
    private func write(_ batch: [Pending]) {
        let entries = batch.map { LogEntry(index: $0.index, term: 0, payload: $0.payload) }
        let result = wal.withLock { wal -> Result<Double, StorageError> in
            Result { () throws(StorageError) -> Double in
                try wal.append(contentsOf: entries)
                let start = ContinuousClock.now
                try wal.sync()
                let elapsed = start.duration(to: .now).components
                return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            }
        }
        switch result {
        case .success(let fsyncSeconds):
            let bytes = batch.reduce(0) { $0 + WALRecord.headerBytes + $1.payload.count }
            onBatch(BatchStats(records: batch.count, bytes: bytes, fsyncSeconds: fsyncSeconds))
            for record in batch { record.completion(.success(record.index)) }
        case .failure(let error):
            let rest = queue.withLock { queue -> [Pending] in
                queue.failure = error
                defer { queue.pending = []; queue.queuedBytes = 0 }
                return queue.pending
            }
            for record in batch + rest { record.completion(.failure(error)) }
        }
    }
}
