import Foundation
import Glibc
@testable import Storage

/// A fresh directory under /tmp, removed when `body` returns.
func withStorageDirectory<R>(_ body: (String) throws -> R) throws -> R {
    var template = Array("/tmp/fuller-storage-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Test data: payload of `index`, a few bytes to a few dozen, deterministic.
func walPayload(_ index: UInt64, bytes: Int? = nil) -> [UInt8] {
    let count = bytes ?? Int(index * 7 % 41)
    return (0..<count).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ $0) }
}

func walEntries(_ range: ClosedRange<UInt64>, term: UInt64 = 1) -> [LogEntry] {
    range.map { LogEntry(index: $0, term: term, payload: walPayload($0)) }
}

/// Options for tests: no fsync (the suite stays fast), small segments when asked.
func walTestOptions(segmentBytesMax: Int = 64 << 20) -> WriteAheadLog.Options {
    WriteAheadLog.Options(segmentBytesMax: segmentBytesMax, recordBytesMax: 1 << 16, fsyncEnabled: false)
}

/// Reads a whole file; a failure throws (an unreadable file must never look like an empty one).
func readStorageFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes a whole file, replacing it; a failure throws.
func writeStorageFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func walSegmentFiles(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("wal-") }.sorted()
}

/// Opens, appends `entries`, syncs, closes; returns nothing but the files it leaves.
func writeWAL(_ directory: String, _ entries: [LogEntry], options: WriteAheadLog.Options = walTestOptions()) throws {
    let (log, _) = try WriteAheadLog.open(directory: directory, options: options)
    try log.append(contentsOf: entries)
    try log.sync()
    log.close()
}

extension WriteAheadLog {
    func allEntries() throws -> [LogEntry] {
        try entries(from: firstIndex, maxBytes: .max)
    }
}
