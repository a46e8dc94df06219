import Glibc

/// The write-ahead log: numbered, checksummed records in segment files in one directory.
///
/// Files are `wal-<first index, 20 digits>.log`, each a run of `WALRecord`s whose indexes follow on
/// from the file name. Only the newest segment is written; the log rotates to a new file once a
/// segment would pass `segmentBytesMax`. Recovery (`open`) reads every segment, truncates a torn
/// tail and refuses damage anywhere else (see `WriteAheadLog+Recovery.swift`).
///
/// Ordering contract: `append` hands records to the kernel (one `pwrite` per batch) but they are not
/// durable; after `sync` returns, everything appended before it is on disk. Nothing may be
/// acknowledged to a client before the `sync` that covers it.
///
/// Not thread-safe: one owner at a time (the group-commit writer, or a single thread at startup).
/// After any I/O failure the log is failed and every later call throws that error, because after a
/// failed write or fsync the kernel's view of the file can no longer be trusted; reopen to recover.
public final class WriteAheadLog {
    /// Sizes and durability settings.
    public struct Options: Sendable {
        /// A segment rotates before it would pass this size (a single larger record gets its own).
        public var segmentBytesMax: Int
        /// Largest payload accepted. Recovery treats a longer length as damage, so never lower this
        /// on an existing log.
        public var recordBytesMax: Int
        /// Whether `sync`, rotation and directory changes call fsync. Only tests and benchmarks
        /// turn this off.
        public var fsyncEnabled: Bool

        public init(segmentBytesMax: Int = 64 << 20, recordBytesMax: Int = 4 << 20, fsyncEnabled: Bool = true) {
            precondition(segmentBytesMax > WALRecord.headerBytes && recordBytesMax >= 0)
            self.segmentBytesMax = segmentBytesMax
            self.recordBytesMax = recordBytesMax
            self.fsyncEnabled = fsyncEnabled
        }
    }

    /// One segment file and where each of its records starts.
    struct Segment {
        var firstIndex: UInt64
        var offsets: [Int]
        var bytes: Int
        var name: String { WriteAheadLog.segmentName(firstIndex) }
        var isEmpty: Bool { offsets.isEmpty }
        /// `firstIndex - 1` when empty; the first index is never 0.
        var lastIndex: UInt64 { firstIndex + UInt64(offsets.count) - 1 }
        /// Byte range of the record in `slot`.
        func end(ofSlot slot: Int) -> Int { slot + 1 < offsets.count ? offsets[slot + 1] : bytes }
    }

    /// Batches are written in pieces of about this size, so the reused buffer stays small.
    static let writeChunkBytes = 1 << 20

    let directory: String
    let options: Options
    /// Oldest first; never empty once `open` returns. The last one is the active segment, open as `activeFD`.
    var segments: [Segment]
    var activeFD: Int32 = -1
    var buffer: [UInt8] = []
    var pendingOffsets: [Int] = []
    var failure: StorageError?

    init(directory: String, options: Options, segments: [Segment]) {
        self.directory = directory
        self.options = options
        self.segments = segments
    }

    deinit { if activeFD >= 0 { POSIXFile.close(activeFD) } }

    /// Index of the oldest entry held; `lastIndex + 1` when the log is empty.
    public var firstIndex: UInt64 { segments[0].firstIndex }
    /// Index of the newest entry appended (durable or not); `firstIndex - 1` when empty.
    public var lastIndex: UInt64 { segments[segments.count - 1].lastIndex }

    /// Appends one record. Not durable until `sync`. `index` must be `lastIndex + 1`.
    public func append(index: UInt64, term: UInt64, payload: [UInt8]) throws(StorageError) {
        try append(contentsOf: [LogEntry(index: index, term: term, payload: payload)])
    }

    /// Appends records with consecutive indexes starting at `lastIndex + 1`, encoded into one
    /// buffer and written with one `pwrite` per segment (per megabyte for large batches). Checks
    /// every entry before writing any. Not durable until `sync`.
    public func append(contentsOf entries: [LogEntry]) throws(StorageError) {
        try checkUsable()
        var expected = lastIndex + 1
        for entry in entries {
            guard entry.index == expected else { throw .outOfOrder(expected: expected, got: entry.index) }
            guard entry.payload.count <= options.recordBytesMax else {
                throw .recordTooLarge(bytes: entry.payload.count, max: options.recordBytesMax)
            }
            expected += 1
        }
        try failing { () throws(StorageError) in
            for entry in entries {
                let recordBytes = WALRecord.headerBytes + entry.payload.count
                let segmentBytes = segments[segments.count - 1].bytes + buffer.count
                if segmentBytes > 0 && segmentBytes + recordBytes > options.segmentBytesMax {
                    try flush()
                    try rotate(firstIndex: entry.index)
                } else if buffer.count >= Self.writeChunkBytes {
                    try flush()
                }
                pendingOffsets.append(segments[segments.count - 1].bytes + buffer.count)
                WALRecord.encode(index: entry.index, term: entry.term, payload: entry.payload, into: &buffer)
            }
            try flush()
        }
    }

    /// Makes everything appended so far durable (`fdatasync` on the active segment; closed
    /// segments were synced when the log rotated away from them).
    public func sync() throws(StorageError) {
        try checkUsable()
        guard options.fsyncEnabled else { return }
        // A failed fsync may already have dropped the dirty pages, so a retry could "succeed"
        // without the data: the log is failed instead.
        try failing { () throws(StorageError) in
            try POSIXFile.sync(activeFD, path: path(segments[segments.count - 1]), dataOnly: true)
        }
    }

    /// Closes the active file. Later calls throw `.closed`. Does not sync.
    public func close() {
        if activeFD >= 0 { POSIXFile.close(activeFD) }
        activeFD = -1
        if failure == nil { failure = .closed }
    }

    func checkUsable() throws(StorageError) {
        if let failure { throw failure }
    }

    /// Runs `body`; an error from it fails the log for good.
    func failing(_ body: () throws(StorageError) -> Void) throws(StorageError) {
        do { try body() } catch {
            failure = error
            throw error
        }
    }

    /// Writes the buffered records at the end of the active segment.
    private func flush() throws(StorageError) {
        guard !buffer.isEmpty else { return }
        let last = segments.count - 1
        let offset = segments[last].bytes
        let fd = activeFD, file = path(segments[last])
        try buffer.withStorageBytes { (raw) throws(StorageError) in
            try POSIXFile.write(fd, raw, at: offset, path: file)
        }
        segments[last].offsets.append(contentsOf: pendingOffsets)
        segments[last].bytes += buffer.count
        buffer.removeAll(keepingCapacity: true)
        pendingOffsets.removeAll(keepingCapacity: true)
    }

    /// Seals the active segment (synced, so a later segment never exists without the earlier one
    /// being whole) and starts a new one at `firstIndex`.
    private func rotate(firstIndex: UInt64) throws(StorageError) {
        if options.fsyncEnabled { try POSIXFile.sync(activeFD, path: path(segments[segments.count - 1])) }
        POSIXFile.close(activeFD)
        activeFD = -1
        try createSegment(firstIndex: firstIndex)
    }

    /// Creates an empty segment file, makes its directory entry durable, and makes it active.
    func createSegment(firstIndex: UInt64) throws(StorageError) {
        let segment = Segment(firstIndex: firstIndex, offsets: [], bytes: 0)
        let fd = try POSIXFile.open(path(segment), O_RDWR | O_CREAT | O_EXCL)
        if options.fsyncEnabled {
            do { try POSIXFile.syncDirectory(directory) } catch {
                POSIXFile.close(fd)
                throw error
            }
        }
        if activeFD >= 0 { POSIXFile.close(activeFD) }
        activeFD = fd
        segments.append(segment)
    }

    func path(_ segment: Segment) -> String { directory + "/" + segment.name }

    static func segmentName(_ firstIndex: UInt64) -> String {
        let digits = String(firstIndex)
        return "wal-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first index encoded in a segment file name, or nil for any other file.
    static func parseSegmentName(_ name: String) -> UInt64? {
        guard name.hasPrefix("wal-"), name.hasSuffix(".log"), name.count == 28 else { return nil }
        return UInt64(name.dropFirst(4).dropLast(4))
    }
}
