import Foundation
import Synchronization
import Testing
@testable import JobStore
@testable import Master
@testable import Model
@testable import Shared

/// A stream writer that records lines, and can refuse writes like a full connection.
final class RecordingWriter: HTTPStreamWriter {
    let lines = Mutex<[String]>([])
    let accepting = Atomic<Bool>(true)
    let closeHandlers = Mutex<[@Sendable () -> Void]>([])
    let finished = Atomic<Bool>(false)

    func write(_ bytes: [UInt8]) -> Bool {
        guard accepting.load(ordering: .relaxed) else { return false }
        lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) }
        return true
    }
    func finish() { finished.store(true, ordering: .relaxed) }
    func onClose(_ handler: @escaping @Sendable () -> Void) { closeHandlers.withLock { $0.append(handler) } }
    var indexes: [Int] {
        lines.withLock { $0 }.compactMap { line in
            guard case .int(let i)? = (try? JSONParser.parse(line))?["index"] else { return nil }
            return Int(i)
        }
    }
}

@Suite struct EventLogTests {
    static let job = Job(id: "j", spec: JobStoreTests.batchSpec(), sequence: 1, createdAtMs: 0)

    static func fill(_ log: EventLog, _ range: ClosedRange<UInt64>) {
        for i in range { log.append(index: i, command: .killJob(jobId: "j", atMs: 0), result: .job(job, replayed: false)) }
    }

    @Test func backlogThenLiveInOrder() throws {
        let log = EventLog(retainedMax: 100, lastIndex: 0)
        Self.fill(log, 1...5)
        let writer = RecordingWriter()
        try log.subscribe(writer, since: 2)
        Self.fill(log, 6...7)
        #expect(writer.indexes == [3, 4, 5, 6, 7])
        let fresh = RecordingWriter()
        try log.subscribe(fresh, since: nil)
        Self.fill(log, 8...8)
        #expect(fresh.indexes == [8])
    }

    @Test func eventsBeyondTheRingAreGone() throws {
        let log = EventLog(retainedMax: 3, lastIndex: 0)
        Self.fill(log, 1...5)
        #expect(throws: EventLog.SubscribeError.self) { try log.check(since: 1) }
        let writer = RecordingWriter()
        try log.subscribe(writer, since: 2)
        #expect(writer.indexes == [3, 4, 5])
        // After a restart the feed starts at the recovered index.
        let restarted = EventLog(retainedMax: 3, lastIndex: 40)
        #expect(throws: EventLog.SubscribeError.self) { try restarted.check(since: 39) }
        try restarted.check(since: 40)
    }

    @Test func aWatcherThatCannotKeepUpIsDropped() throws {
        let log = EventLog(retainedMax: 10, lastIndex: 0)
        let slow = RecordingWriter()
        try log.subscribe(slow, since: nil)
        #expect(log.watcherCount == 1)
        slow.accepting.store(false, ordering: .relaxed)
        Self.fill(log, 1...1)
        #expect(log.watcherCount == 0)
    }

    @Test func closingTheConnectionUnsubscribes() throws {
        let log = EventLog(retainedMax: 10, lastIndex: 0)
        let writer = RecordingWriter()
        try log.subscribe(writer, since: nil)
        writer.closeHandlers.withLock { $0 }.forEach { $0() }
        #expect(log.watcherCount == 0)
    }

    @Test func watcherLimitHolds() throws {
        let log = EventLog(retainedMax: 10, watchersMax: 1, lastIndex: 0)
        try log.subscribe(RecordingWriter(), since: nil)
        #expect(throws: EventLog.SubscribeError.self) { try log.subscribe(RecordingWriter(), since: nil) }
    }

    @Test func refusalsAndReplaysMakeNoEvent() {
        #expect(EventLog.render(index: 1, command: .killJob(jobId: "x", atMs: 0),
                                result: .rejected(.notFound(kind: "job", id: "x"))) == nil)
        #expect(EventLog.render(index: 1, command: .killJob(jobId: "x", atMs: 0), result: .job(Self.job, replayed: true)) == nil)
    }
}
