import Testing
@testable import Storage

@Suite struct WriteAheadLogTests {
    @Test func roundTripsEntries() throws {
        try withStorageDirectory { dir in
            let (log, report) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            #expect(report.recordsRecovered == 0 && log.firstIndex == 1 && log.lastIndex == 0)
            let entries = walEntries(1...100)
            for entry in entries { try log.append(index: entry.index, term: entry.term, payload: entry.payload) }
            try log.sync()
            #expect(try log.allEntries() == entries)
            #expect(try log.entries(from: 50, maxBytes: 0) == [entries[49]])
            #expect(try log.entries(from: 101, maxBytes: .max) == [])
            #expect(throws: StorageError.indexOutOfRange(0, firstIndex: 1, lastIndex: 100)) {
                try log.entries(from: 0, maxBytes: 10)
            }
        }
    }

    @Test func rejectsOutOfOrderAndOversizedAppends() throws {
        try withStorageDirectory { dir in
            let (log, _) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            #expect(throws: StorageError.outOfOrder(expected: 1, got: 2)) { try log.append(index: 2, term: 0, payload: []) }
            #expect(throws: StorageError.recordTooLarge(bytes: (1 << 16) + 1, max: 1 << 16)) {
                try log.append(index: 1, term: 0, payload: [UInt8](repeating: 0, count: (1 << 16) + 1))
            }
            // A bad entry anywhere in a batch rejects the whole batch before anything is written.
            #expect(throws: StorageError.outOfOrder(expected: 3, got: 4)) {
                try log.append(contentsOf: walEntries(1...2) + walEntries(4...4))
            }
            #expect(log.lastIndex == 0)
            try log.append(index: 1, term: 0, payload: [])
            #expect(try log.allEntries() == [LogEntry(index: 1, term: 0, payload: [])])
        }
    }

    @Test func reopensAfterCleanClose() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...40, term: 3))
            let (log, report) = try WriteAheadLog.open(directory: dir, options: walTestOptions())
            #expect(report.recordsRecovered == 40 && report.tornTailBytesTruncated == 0 && report.tornTail == nil)
            #expect(try log.allEntries() == walEntries(1...40, term: 3))
            try log.append(index: 41, term: 4, payload: [1, 2, 3])
            #expect(log.lastIndex == 41)
        }
    }

    @Test func withFsyncEnabled() throws {
        try withStorageDirectory { dir in
            let options = WriteAheadLog.Options(segmentBytesMax: 256, recordBytesMax: 1024, fsyncEnabled: true)
            try writeWAL(dir, walEntries(1...20), options: options)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: options)
            #expect(try log.allEntries() == walEntries(1...20))
        }
    }

    @Test func rotatesSegmentsAndReadsAcrossThem() throws {
        try withStorageDirectory { dir in
            let options = walTestOptions(segmentBytesMax: 200)
            let entries = (1...30).map { LogEntry(index: UInt64($0), term: 1, payload: walPayload(UInt64($0), bytes: 30)) }
            try writeWAL(dir, Array(entries[..<10]), options: options)  // one batch, several segments
            let (log, _) = try WriteAheadLog.open(directory: dir, options: options)
            for entry in entries[10...] { try log.append(index: entry.index, term: entry.term, payload: entry.payload) }
            // 54 bytes a record: three to a 200-byte segment.
            #expect(walSegmentFiles(dir).count == 10)
            #expect(walSegmentFiles(dir).first == "wal-00000000000000000001.log")
            #expect(try log.allEntries() == entries)
            var read: [LogEntry] = []
            while read.count < entries.count {
                read += try log.entries(from: UInt64(read.count + 1), maxBytes: 130)
            }
            #expect(read == entries)
            #expect(try log.entries(from: 2, maxBytes: 130).map(\.index) == [2, 3])
        }
    }

    @Test func oneRecordLargerThanASegmentGetsItsOwn() throws {
        try withStorageDirectory { dir in
            let options = walTestOptions(segmentBytesMax: 100)
            let entries = [LogEntry(index: 1, term: 1, payload: [1]),
                           LogEntry(index: 2, term: 1, payload: walPayload(2, bytes: 500)),
                           LogEntry(index: 3, term: 1, payload: [3])]
            try writeWAL(dir, entries, options: options)
            #expect(walSegmentFiles(dir).count == 3)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: options)
            #expect(try log.allEntries() == entries)
        }
    }
}
