import Glibc

/// What `WriteAheadLog.open` found and repaired; worth logging at startup.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    public var segmentCount = 0
    public var recordsRecovered = 0
    public var firstIndex: UInt64 = 1
    public var lastIndex: UInt64 = 0
    /// Bytes cut from the end of the last segment: a record that was being written at a crash,
    /// never synced, so never acknowledged.
    public var tornTailBytesTruncated = 0
    /// Where the torn tail started and what was wrong with it, when there was one.
    public var tornTail: String?
    /// Old segments left by a crash in the middle of `truncatePrefix` past the end of the log.
    public var staleSegmentsRemoved = 0

    public var description: String {
        var text = "recovered \(recordsRecovered) records [\(firstIndex)...\(lastIndex)] from \(segmentCount) segments"
        if let tornTail { text += "; truncated \(tornTailBytesTruncated) torn bytes (\(tornTail))" }
        if staleSegmentsRemoved > 0 { text += "; removed \(staleSegmentsRemoved) stale segments" }
        return text
    }
}

extension WriteAheadLog {
    /// Opens (creating if needed) the log in `directory` and recovers it.
    ///
    /// Recovery rules:
    /// - Every segment is read and every record's checksum and index checked.
    /// - In the last segment, a damaged record with nothing valid after it is a torn tail: a write
    ///   cut short by a crash, or a preallocated or zero-filled end. It was never synced, so never
    ///   acknowledged; the file is cut back to the last whole record (ftruncate + fsync).
    /// - Damage anywhere else (a later record is still valid, or the segment is not the last, or
    ///   segments do not follow on from each other) throws `.corrupt` naming file and offset,
    ///   because going on would silently drop acknowledged records.
    /// - An empty last segment after a gap is what a crash inside a reset (`truncatePrefix` past
    ///   the end) leaves; the older segments it replaced are deleted.
    public static func open(directory: String, options: Options = Options())
        throws(StorageError) -> (WriteAheadLog, RecoveryReport)
    {
        try POSIXFile.makeDirectory(directory)
        var found: [(firstIndex: UInt64, name: String)] = []
        for name in try POSIXFile.list(directory) {
            guard let first = parseSegmentName(name) else { continue }
            guard first > 0 else { throw .corrupt(file: name, offset: 0, reason: "segment starts at index 0") }
            found.append((first, name))
        }
        found.sort { $0.firstIndex < $1.firstIndex }
        var report = RecoveryReport()
        var segments: [Segment] = []
        for (position, file) in found.enumerated() {
            let isLast = position == found.count - 1
            let segment = try recoverSegment(directory + "/" + file.name, firstIndex: file.firstIndex,
                                             isLast: isLast, options: options, report: &report)
            if let previous = segments.last, previous.lastIndex + 1 != segment.firstIndex {
                guard isLast, segment.isEmpty, segment.firstIndex > previous.lastIndex + 1 else {
                    throw .corrupt(file: file.name, offset: 0, reason: "segment starts at index \(segment.firstIndex) "
                                   + "but the previous one ends at \(previous.lastIndex)")
                }
                for stale in segments { try POSIXFile.unlink(directory + "/" + stale.name) }
                report.staleSegmentsRemoved = segments.count
                segments.removeAll()
            }
            segments.append(segment)
        }
        if report.staleSegmentsRemoved > 0 && options.fsyncEnabled { try POSIXFile.syncDirectory(directory) }
        let log = WriteAheadLog(directory: directory, options: options, segments: segments)
        try log.openActiveSegment()
        report.segmentCount = log.segments.count
        report.recordsRecovered = log.segments.reduce(0) { $0 + $1.offsets.count }
        report.firstIndex = log.firstIndex
        report.lastIndex = log.lastIndex
        return (log, report)
    }

    /// Opens the newest segment for writing, creating the first one in an empty directory.
    private func openActiveSegment() throws(StorageError) {
        if segments.isEmpty { return try createSegment(firstIndex: 1) }
        activeFD = try POSIXFile.open(path(segments[segments.count - 1]), O_RDWR)
    }

    /// Reads one segment, checking every record; cuts a torn tail off the last segment.
    private static func recoverSegment(_ path: String, firstIndex: UInt64, isLast: Bool, options: Options,
                                       report: inout RecoveryReport) throws(StorageError) -> Segment {
        let name = String(path.split(separator: "/").last ?? "")
        let bytes = try POSIXFile.readAll(path)
        var segment = Segment(firstIndex: firstIndex, offsets: [], bytes: 0)
        let damage = try bytes.withStorageBytes { (raw) throws(StorageError) -> (offset: Int, reason: String)? in
            var offset = 0
            while offset < raw.count {
                let expected = firstIndex + UInt64(segment.offsets.count)
                let reason: String
                switch WALRecord.decode(raw, at: offset, payloadBytesMax: options.recordBytesMax) {
                case let .record(entry, size):
                    guard entry.index == expected else {
                        throw .corrupt(file: name, offset: offset,
                                       reason: "record has index \(entry.index), expected \(expected)")
                    }
                    segment.offsets.append(offset)
                    offset += size
                    continue
                case .truncated: reason = "incomplete record"
                case let .impossibleLength(length): reason = "impossible length \(length)"
                case .checksumMismatch: reason = "checksum mismatch"
                }
                let laterIndexes = expected...(expected + UInt64(raw.count - offset) / UInt64(WALRecord.headerBytes))
                let validFollows = WALRecord.validRecordExists(in: raw, after: offset, indexes: laterIndexes,
                                                               payloadBytesMax: options.recordBytesMax)
                guard isLast, !validFollows else {
                    let context = isLast ? "valid records follow" : "segment is not the last one"
                    throw .corrupt(file: name, offset: offset, reason: "\(reason) (\(context))")
                }
                return (offset, reason)
            }
            return nil
        }
        segment.bytes = damage?.offset ?? bytes.count
        if let damage {
            try truncateTornTail(path, to: damage.offset, options: options)
            report.tornTailBytesTruncated = bytes.count - damage.offset
            report.tornTail = "\(name) at byte offset \(damage.offset): \(damage.reason)"
        }
        return segment
    }

    private static func truncateTornTail(_ path: String, to length: Int, options: Options) throws(StorageError) {
        let fd = try POSIXFile.open(path, O_RDWR)
        defer { POSIXFile.close(fd) }
        try POSIXFile.truncate(fd, to: length, path: path)
        if options.fsyncEnabled { try POSIXFile.sync(fd, path: path) }
    }
}
