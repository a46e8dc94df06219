import Dispatch
import Foundation
import Glibc
import Testing
@testable import Storage

/// A real crash: a child process (this test binary, running only `crashChildWritesUntilKilled`)
/// writes through `GroupCommitLog` and prints each acknowledged index; the parent SIGKILLs it
/// mid-stream and checks that recovery holds every acknowledged record, intact.
@Suite struct WriteAheadLogCrashTests {
    static let childVariable = "FULLER_STORAGE_CRASH_CHILD_DIR"

    @Test func sigkillLosesNoAcknowledgedRecord() throws {
        try withStorageDirectory { dir in
            let child = Process()
            child.executableURL = URL(fileURLWithPath: try Self.currentExecutable())
            child.arguments = ["--testing-library", "swift-testing", "--filter", "crashChildWritesUntilKilled"]
            child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: dir]) { $1 }
            let output = Pipe()
            child.standardOutput = output
            child.standardError = FileHandle.nullDevice
            try child.run()
            var text = ""
            var acknowledged: UInt64 = 0
            while acknowledged < 2000 {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }  // the child exited early
                text += String(decoding: data, as: UTF8.self)
                acknowledged = Self.lastAcknowledged(text)
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
            try #require(acknowledged >= 2000)
            let (log, report) = try WriteAheadLog.open(directory: dir, options: WriteAheadLog.Options())
            #expect(log.lastIndex >= acknowledged, "\(report)")
            let entries = try log.entries(from: 1, maxBytes: .max)
            #expect(entries == walEntries(1...log.lastIndex, term: 0))
        }
    }

    /// The child half; skipped unless the parent above started this process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[childVariable] != nil))
    func crashChildWritesUntilKilled() throws {
        let dir = try #require(ProcessInfo.processInfo.environment[Self.childVariable])
        let (wal, _) = try WriteAheadLog.open(directory: dir, options: WriteAheadLog.Options(segmentBytesMax: 64 << 10))
        let log = GroupCommitLog(wal: wal)
        let window = DispatchSemaphore(value: 64)  // at most 64 records in flight
        for index in UInt64(1)...200_000 {
            window.wait()
            log.submit(walPayload(index)) { result in
                if case .success(let acknowledged) = result {
                    let line = Array("ACK \(acknowledged)\n".utf8)
                    _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                }
                window.signal()
            }
        }
        log.close()
    }

    static func lastAcknowledged(_ text: String) -> UInt64 {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("ACK ") }
        return lines.last.flatMap { UInt64($0.dropFirst(4)) } ?? 0
    }

    static func currentExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        try #require(length > 0)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
