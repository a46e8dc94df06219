import Testing
@testable import Storage

@Suite struct WriteAheadLogTruncationTests {
    static let options = walTestOptions(segmentBytesMax: 150)

    @Test func truncatePrefixDropsWholeSegmentsOnly() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...30), options: Self.options)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: Self.options)
            let before = walSegmentFiles(dir).count
            try log.truncatePrefix(through: 12)
            #expect(log.firstIndex <= 13 && log.firstIndex > 1)
            #expect(walSegmentFiles(dir).count < before)
            #expect(try log.allEntries() == walEntries(log.firstIndex...30))
            let first = log.firstIndex
            #expect(throws: StorageError.self) { try log.entries(from: first - 1, maxBytes: 100) }
            try log.truncatePrefix(through: 5)  // already gone: nothing to do
            log.close()
            let (reopened, report) = try WriteAheadLog.open(directory: dir, options: Self.options)
            #expect(reopened.firstIndex == first && report.lastIndex == 30)
            #expect(try reopened.allEntries() == walEntries(first...30))
        }
    }

    @Test func truncatePrefixPastTheEndRestartsTheLog() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...30), options: Self.options)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: Self.options)
            try log.truncatePrefix(through: 99)
            #expect(log.firstIndex == 100 && log.lastIndex == 99)
            #expect(walSegmentFiles(dir) == [WriteAheadLog.segmentName(100)])
            #expect(throws: StorageError.outOfOrder(expected: 100, got: 31)) { try log.append(index: 31, term: 1, payload: []) }
            try log.append(contentsOf: walEntries(100...104))
            log.close()
            let (reopened, _) = try WriteAheadLog.open(directory: dir, options: Self.options)
            #expect(try reopened.allEntries() == walEntries(100...104))
            // Exactly at the end: the log empties and continues at the next index.
            try reopened.truncatePrefix(through: 104)
            #expect(reopened.firstIndex == 105 && reopened.lastIndex == 104 && walSegmentFiles(dir).count == 1)
        }
    }

    /// A crash inside a reset leaves the old segments plus an empty one after a gap.
    @Test func recoveryFinishesAnInterruptedReset() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...30), options: Self.options)
            try writeStorageFile(dir + "/" + WriteAheadLog.segmentName(200), [])
            let (log, report) = try WriteAheadLog.open(directory: dir, options: Self.options)
            #expect(report.staleSegmentsRemoved > 1)
            #expect(log.firstIndex == 200 && log.lastIndex == 199)
            #expect(walSegmentFiles(dir) == [WriteAheadLog.segmentName(200)])
        }
    }

    @Test(arguments: [UInt64(0), 1, 7, 13, 14, 25, 29, 30, 40])
    func truncateSuffixThenAppendAndReopen(after index: UInt64) throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...30), options: Self.options)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: Self.options)
            try log.truncateSuffix(after: index)
            let kept = min(index, 30)
            #expect(log.lastIndex == kept)
            try log.append(contentsOf: walEntries((kept + 1)...(kept + 10), term: 2))
            try log.sync()
            log.close()
            let (reopened, report) = try WriteAheadLog.open(directory: dir, options: Self.options)
            #expect(report.tornTail == nil)
            let expected = (kept == 0 ? [] : walEntries(1...kept)) + walEntries((kept + 1)...(kept + 10), term: 2)
            #expect(try reopened.allEntries() == expected)
        }
    }

    @Test func truncateSuffixBeforeTheFirstIndexIsRejected() throws {
        try withStorageDirectory { dir in
            try writeWAL(dir, walEntries(1...30), options: Self.options)
            let (log, _) = try WriteAheadLog.open(directory: dir, options: Self.options)
            try log.truncatePrefix(through: 20)
            let first = log.firstIndex
            #expect(throws: StorageError.indexOutOfRange(first - 2, firstIndex: first, lastIndex: 30)) {
                try log.truncateSuffix(after: first - 2)
            }
            try log.truncateSuffix(after: first - 1)
            #expect(log.lastIndex == first - 1)
            #expect(try log.allEntries() == [])
        }
    }
}
