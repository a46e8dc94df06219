import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing
@testable import Storage

/// Collects values from completions and callbacks on other threads.
final class CompletionRecorder<Value: Sendable>: Sendable {
    let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

@Suite struct GroupCommitLogTests {
    @Test func concurrentSubmitsAreDurableUniqueAndCompletedInOrder() throws {
        try withStorageDirectory { dir in
            let options = WriteAheadLog.Options(segmentBytesMax: 32 << 10, recordBytesMax: 1024, fsyncEnabled: true)
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: options)
            let batches = CompletionRecorder<BatchStats>()
            let log = GroupCommitLog(wal: wal, onBatch: { batches.append($0) })
            let completed = CompletionRecorder<(index: UInt64, payload: [UInt8])>()
            let threads = 8, perThread = 500
            runOnThreads(threads: threads) { thread in
                for n in 0..<perThread {
                    let payload = Array("t\(thread)-n\(n)".utf8)
                    log.submit(payload) { result in
                        guard case .success(let index) = result else { Issue.record("\(result)"); return }
                        completed.append((index, payload))
                    }
                }
            }
            log.close()
            let done = completed.all
            #expect(done.map(\.index) == Array(1...UInt64(threads * perThread)))
            #expect(batches.all.reduce(0) { $0 + $1.records } == threads * perThread)
            #expect(batches.all.map(\.records).max()! > 1)
            let (reopened, report) = try WriteAheadLog.open(directory: dir, options: options)
            #expect(report.recordsRecovered == threads * perThread && report.tornTail == nil)
            let entries = try reopened.allEntries()
            #expect(entries.map(\.payload) == done.map(\.payload))
            #expect(Set(done.map(\.payload)).count == threads * perThread)
        }
    }

    /// Handlers that each wait for their acknowledgement before the next request, as HTTP
    /// handlers do: their records still share fsyncs.
    @Test func waitingSubmittersShareFsyncs() throws {
        try withStorageDirectory { dir in
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: WriteAheadLog.Options())
            let batches = CompletionRecorder<BatchStats>()
            let log = GroupCommitLog(wal: wal, onBatch: { batches.append($0) })
            runOnThreads(threads: 8) { thread in
                for n in 0..<40 {
                    let acknowledged = DispatchSemaphore(value: 0)
                    log.submit(Array("\(thread)/\(n)".utf8)) { result in
                        if case .failure(let error) = result { Issue.record("\(error)") }
                        acknowledged.signal()
                    }
                    acknowledged.wait()
                }
            }
            log.close()
            let sizes = batches.all.map(\.records)
            #expect(sizes.reduce(0, +) == 320)
            #expect(sizes.max()! > 1 && sizes.max()! <= 8)
            #expect(batches.all.allSatisfy { $0.fsyncSeconds >= 0 && $0.bytes > 0 })
        }
    }

    /// Holds the writer inside its first batch; everything submitted meanwhile is one batch.
    @Test func submissionsDuringAWriteShareTheNextFsync() throws {
        try withStorageDirectory { dir in
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            let gate = WriterGate()
            let sizes = CompletionRecorder<Int>()
            let log = GroupCommitLog(wal: wal, maxBatchRecords: 60, onBatch: { sizes.append($0.records); gate.hold() })
            log.submit([0]) { _ in }
            gate.waitUntilHeld()
            for n in 1...100 { log.submit([UInt8(n)]) { _ in } }
            gate.release()
            log.close()
            #expect(sizes.all == [1, 60, 40])
        }
    }

    @Test func fullQueueRejectsWithOverloaded() throws {
        try withStorageDirectory { dir in
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            let gate = WriterGate()
            let log = GroupCommitLog(wal: wal, maxQueuedRecords: 10, onBatch: { _ in gate.hold() })
            let results = CompletionRecorder<Result<UInt64, StorageError>>()
            log.submit([0]) { results.append($0) }
            gate.waitUntilHeld()
            for _ in 1...11 { log.submit([1]) { results.append($0) } }
            #expect(results.all.count == 1)  // the 12th, rejected on the spot
            #expect(throws: StorageError.overloaded) { try results.all[0].get() }
            log.submit([UInt8](repeating: 0, count: (1 << 16) + 1)) { results.append($0) }
            #expect(throws: StorageError.recordTooLarge(bytes: (1 << 16) + 1, max: 1 << 16)) { try results.all[1].get() }
            gate.release()
            log.close()
            #expect(try results.all[2...].map { try $0.get() } == Array(1...11))
            log.submit([2]) { results.append($0) }
            #expect(throws: StorageError.closed) { try results.all.last!.get() }
        }
    }

    /// A real write error (the segment is /dev/full): that batch, all queued and all later
    /// submissions fail with it, in order; nothing succeeds.
    @Test func writeErrorFailsTheLogForGood() throws {
        try withStorageDirectory { dir in
            #expect(symlink("/dev/full", dir + "/" + WriteAheadLog.segmentName(1)) == 0)
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            let log = GroupCommitLog(wal: wal)
            let results = CompletionRecorder<Result<UInt64, StorageError>>()
            for n in 0..<50 { log.submit([UInt8(n)]) { results.append($0) } }
            log.close()
            log.submit([9]) { results.append($0) }
            let all = results.all
            #expect(all.count == 51)
            for result in all {
                guard case .failure(.io(_, let errno)) = result else { Issue.record("\(result)"); continue }
                #expect(errno == ENOSPC)
            }
        }
    }

    @Test func truncatePrefixBetweenBatches() throws {
        try withStorageDirectory { dir in
            let options = walTestOptions(segmentBytesMax: 100)
            let (wal, _) = try WriteAheadLog.open(directory: dir, options: options)
            let log = GroupCommitLog(wal: wal)
            let done = DispatchSemaphore(value: 0)
            for n in 1...20 { log.submit(walPayload(UInt64(n))) { _ in if n == 20 { done.signal() } } }
            done.wait()
            #expect(throws: StorageError.self) { try log.truncatePrefix(through: 21) }
            try log.truncatePrefix(through: 15)
            log.submit([1]) { _ in }
            log.close()
            let (reopened, _) = try WriteAheadLog.open(directory: dir, options: options)
            #expect(reopened.firstIndex > 1 && reopened.firstIndex <= 16 && reopened.lastIndex == 21)
        }
    }
}

/// Runs `body` on `threads` dedicated threads that start together, and waits for all of them.
/// (Not `concurrentPerform`: its width follows the free cores, so on a busy machine the
/// "concurrent" submitters could run one after another.)
func runOnThreads(threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let started = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), finished = DispatchGroup()
    for thread in 0..<threads {
        finished.enter()
        Thread {
            started.signal()
            go.wait()
            body(thread)
            finished.leave()
        }.start()
    }
    for _ in 0..<threads { started.wait() }
    for _ in 0..<threads { go.signal() }
    finished.wait()
}

/// Lets a test hold the writer thread inside `onBatch` (first call only) and let it go.
final class WriterGate: Sendable {
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    private let first = Atomic<Bool>(true)

    func hold() {
        guard first.exchange(false, ordering: .relaxed) else { return }
        held.signal()
        released.wait()
    }

    func waitUntilHeld() { held.wait() }
    func release() { released.signal() }
}
