import Testing
@testable import Storage

/// Crash simulation: the files a crash could leave, byte by byte, and what recovery makes of them.
@Suite struct WriteAheadLogRecoveryTests {
    static let firstSegment = "wal-00000000000000000001.log"

    /// A one-segment log of `count` records; returns its bytes and each record's end offset.
    static func sampleLog(_ dir: String, count: UInt64) throws -> (bytes: [UInt8], ends: [Int]) {
        try writeWAL(dir, walEntries(1...count))
        let bytes = try readStorageFile(dir + "/" + firstSegment)
        var ends: [Int] = []
        var end = 0
        for index in 1...count { end += WALRecord.headerBytes + walPayload(index).count; ends.append(end) }
        #expect(end == bytes.count)
        return (bytes, ends)
    }

    /// Cuts the file at every byte offset, and also zero-fills from every offset instead (a
    /// preallocated or never-written tail): recovery keeps exactly the whole records before the cut.
    @Test(arguments: [false, true])
    func everyCutOffsetRecoversExactlyTheWholeRecords(zeroFill: Bool) throws {
        try withStorageDirectory { source in
            let (bytes, ends) = try Self.sampleLog(source, count: 6)
            for cut in 0...bytes.count {
                try withStorageDirectory { dir in
                    let path = dir + "/" + Self.firstSegment
                    let damaged = zeroFill ? Array(bytes[..<cut]) + [UInt8](repeating: 0, count: bytes.count - cut)
                                           : Array(bytes[..<cut])
                    try writeStorageFile(path, damaged)
                    let whole = UInt64(ends.filter { $0 <= cut }.count)
                    let boundary = ends.last { $0 <= cut } ?? 0
                    let (log, report) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
                    #expect(report.recordsRecovered == Int(whole), "cut at \(cut)")
                    #expect(report.tornTailBytesTruncated == damaged.count - boundary, "cut at \(cut)")
                    #expect(try readStorageFile(path).count == boundary, "cut at \(cut)")
                    #expect(try log.allEntries() == (whole == 0 ? [] : walEntries(1...whole)))
                    // The log carries on from where the whole records end.
                    try log.append(index: whole + 1, term: 9, payload: [7])
                }
            }
        }
    }

    /// Damage in the last record of the last segment, with nothing valid after it, is a torn tail.
    @Test func damagedLastRecordIsTruncated() throws {
        try withStorageDirectory { source in
            let (bytes, ends) = try Self.sampleLog(source, count: 5)
            for position in ends[3]..<ends[4] {
                try withStorageDirectory { dir in
                    var damaged = bytes
                    damaged[position] ^= 0xFF
                    try writeStorageFile(dir + "/" + Self.firstSegment, damaged)
                    let (log, report) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
                    #expect(log.lastIndex == 4, "byte \(position)")
                    #expect(report.tornTailBytesTruncated == ends[4] - ends[3])
                }
            }
        }
    }

    /// Damage to any byte of a middle record, valid records after it: stop, name file and offset.
    @Test func damagedMiddleRecordIsCorruption() throws {
        try withStorageDirectory { source in
            let (bytes, ends) = try Self.sampleLog(source, count: 5)
            for position in ends[1]..<ends[2] {
                try withStorageDirectory { dir in
                    var damaged = bytes
                    damaged[position] ^= 0xFF
                    try writeStorageFile(dir + "/" + Self.firstSegment, damaged)
                    let error = #expect(throws: StorageError.self) {
                        try WriteAheadLog.open(directory: dir, options: walTestOptions())
                    }
                    guard case let .corrupt(file, offset, _) = error else {
                        Issue.record("byte \(position): \(String(describing: error))")
                        return
                    }
                    #expect(file == Self.firstSegment && offset == ends[1], "byte \(position)")
                    #expect(try readStorageFile(dir + "/" + Self.firstSegment) == damaged, "recovery must not touch it")
                }
            }
        }
    }

    /// Earlier segments were whole and synced when the log moved on: any damage there is corruption,
    /// even in their last record.
    @Test func damageInAnEarlierSegmentIsCorruption() throws {
        try withStorageDirectory { dir in
            let options = walTestOptions(segmentBytesMax: 100)
            try writeWAL(dir, walEntries(1...12), options: options)
            let files = walSegmentFiles(dir)
            #expect(files.count > 2)
            let path = dir + "/" + files[0]
            var bytes = try readStorageFile(path)
            bytes[bytes.count - 1] ^= 0x01
            try writeStorageFile(path, bytes)
            #expect(throws: StorageError.self) { try WriteAheadLog.open(directory: dir, options: options) }
            try writeStorageFile(path, Array(try readStorageFile(path).dropLast()))  // a short earlier segment, too
            #expect(throws: StorageError.self) { try WriteAheadLog.open(directory: dir, options: options) }
        }
    }

    /// With several segments, cutting the last one anywhere keeps everything before the cut.
    @Test func cutsInTheLastOfSeveralSegments() throws {
        try withStorageDirectory { source in
            let options = walTestOptions(segmentBytesMax: 150)
            try writeWAL(source, walEntries(1...20), options: options)
            let files = walSegmentFiles(source)
            let last = files[files.count - 1]
            let lastBytes = try readStorageFile(source + "/" + last)
            let firstInLast = WriteAheadLog.parseSegmentName(last)!
            for cut in 0...lastBytes.count {
                try withStorageDirectory { dir in
                    for file in files.dropLast() { try writeStorageFile(dir + "/" + file, try readStorageFile(source + "/" + file)) }
                    try writeStorageFile(dir + "/" + last, Array(lastBytes[..<cut]))
                    let (log, _) = try WriteAheadLog.open(directory: dir, options: options)
                    let entries = try log.allEntries()
                    #expect(entries == walEntries(1...log.lastIndex))
                    #expect(log.lastIndex >= firstInLast - 1)
                }
            }
        }
    }

    @Test func gapBetweenSegmentsIsCorruption() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...5))
            // A non-empty segment that does not follow on from the one before it.
            let name = WriteAheadLog.segmentName(8)
            var bytes: [UInt8] = []
            WALRecord.encode(index: 8, term: 1, payload: [1], into: &bytes)
            try writeStorageFile(dir + "/" + name, bytes)
            #expect(throws: StorageError.corrupt(file: name, offset: 0,
                                                 reason: "segment starts at index 8 but the previous one ends at 5")) {
                try WriteAheadLog.open(directory: dir, options: walTestOptions())
            }
        }
    }
}
