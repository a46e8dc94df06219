import Glibc

extension WriteAheadLog {
    /// Entries from `index` on, oldest first, up to about `maxBytes` of encoded records (24 bytes of
    /// header plus payload each). At least one entry comes back whenever `index <= lastIndex`, even
    /// one larger than `maxBytes`, so a reader always makes progress; an empty array means `index`
    /// is `lastIndex + 1`. Reads see appended records before they are synced. Every record's
    /// checksum is verified again on the way out.
    public func entries(from index: UInt64, maxBytes: Int) throws(StorageError) -> [LogEntry] {
        try checkUsable()
        guard index >= firstIndex, index <= lastIndex + 1 else {
            throw .indexOutOfRange(index, firstIndex: firstIndex, lastIndex: lastIndex)
        }
        var result: [LogEntry] = []
        var next = index
        var budget = maxBytes
        var position = segmentPosition(containing: index)
        while next <= lastIndex && position < segments.count {
            let segment = segments[position]
            position += 1
            guard !segment.isEmpty, next <= segment.lastIndex else { continue }
            let startSlot = Int(next - segment.firstIndex)
            let start = segment.offsets[startSlot]
            var endSlot = startSlot
            while endSlot < segment.offsets.count {
                let end = segment.end(ofSlot: endSlot)
                if end - start > budget && !(result.isEmpty && endSlot == startSlot) { break }
                endSlot += 1
            }
            guard endSlot > startSlot else { break }
            let end = segment.end(ofSlot: endSlot - 1)
            let read = try readRecords(segment, range: start..<end, firstIndex: next, count: endSlot - startSlot)
            result.append(contentsOf: read)
            next += UInt64(read.count)
            budget -= end - start
            if endSlot < segment.offsets.count { break }
        }
        return result
    }

    /// Position in `segments` of the segment that holds `index` (the last one starting at or
    /// before it).
    func segmentPosition(containing index: UInt64) -> Int {
        var low = 0, high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].firstIndex <= index { low = middle } else { high = middle - 1 }
        }
        return low
    }

    private func readRecords(_ segment: Segment, range: Range<Int>, firstIndex: UInt64, count: Int)
        throws(StorageError) -> [LogEntry]
    {
        let file = path(segment)
        let isActive = segment.firstIndex == segments[segments.count - 1].firstIndex
        let fd = isActive ? activeFD : try POSIXFile.open(file, O_RDONLY)
        defer { if !isActive { POSIXFile.close(fd) } }
        let bytes = try POSIXFile.read(fd, count: range.count, at: range.lowerBound, path: file)
        return try bytes.withStorageBytes { (raw) throws(StorageError) -> [LogEntry] in
            var entries: [LogEntry] = []
            entries.reserveCapacity(count)
            var offset = 0
            while entries.count < count {
                let expected = firstIndex + UInt64(entries.count)
                guard case let .record(entry, size) = WALRecord.decode(raw, at: offset,
                                                                        payloadBytesMax: options.recordBytesMax),
                      entry.index == expected else {
                    throw .corrupt(file: segment.name, offset: range.lowerBound + offset,
                                   reason: "record \(expected) no longer matches its checksum on read-back")
                }
                entries.append(entry)
                offset += size
            }
            return entries
        }
    }
}
