import Glibc

extension WriteAheadLog {
    /// Drops old entries once a snapshot covers them: every whole segment whose entries are all
    /// `<= index` is deleted, oldest first, so `firstIndex` may stay at or below `index`.
    ///
    /// When `index >= lastIndex` the whole log goes and it restarts empty at `index + 1` (a
    /// follower installing a leader's snapshot). The new empty segment is created and made durable
    /// before the old ones are deleted; a crash in between leaves an empty last segment after a
    /// gap, which recovery recognises and finishes.
    ///
    /// Only call this once the snapshot covering `index` is durable.
    public func truncatePrefix(through index: UInt64) throws(StorageError) {
        try checkUsable()
        guard index >= firstIndex else { return }
        try failing { () throws(StorageError) in
            if index >= lastIndex { return try reset(nextIndex: index + 1) }
            var drop = 0
            while drop < segments.count - 1 && segments[drop].lastIndex <= index { drop += 1 }
            guard drop > 0 else { return }
            for segment in segments[..<drop] { try POSIXFile.unlink(path(segment)) }
            segments.removeFirst(drop)
            if options.fsyncEnabled { try POSIXFile.syncDirectory(directory) }
        }
    }

    /// Drops every entry after `index` (Raft: a follower's log conflicts with the leader's).
    /// Later segments are deleted newest first, then the segment holding `index + 1` is cut back
    /// and synced, so a crash part-way leaves a shorter but valid log. `index` may be
    /// `firstIndex - 1` (drop everything); at or past `lastIndex` nothing happens.
    public func truncateSuffix(after index: UInt64) throws(StorageError) {
        try checkUsable()
        guard index + 1 >= firstIndex else {
            throw .indexOutOfRange(index, firstIndex: firstIndex, lastIndex: lastIndex)
        }
        guard index < lastIndex else { return }
        try failing { () throws(StorageError) in
            let keep = segmentPosition(containing: index + 1)
            let wasActive = keep == segments.count - 1
            for segment in segments[(keep + 1)...].reversed() { try POSIXFile.unlink(path(segment)) }
            segments.removeLast(segments.count - keep - 1)
            if !wasActive && options.fsyncEnabled { try POSIXFile.syncDirectory(directory) }
            if !wasActive {
                POSIXFile.close(activeFD)
                activeFD = -1
                activeFD = try POSIXFile.open(path(segments[keep]), O_RDWR)
            }
            let slot = Int(index + 1 - segments[keep].firstIndex)
            let cut = segments[keep].offsets[slot]
            try POSIXFile.truncate(activeFD, to: cut, path: path(segments[keep]))
            if options.fsyncEnabled { try POSIXFile.sync(activeFD, path: path(segments[keep])) }
            segments[keep].offsets.removeLast(segments[keep].offsets.count - slot)
            segments[keep].bytes = cut
        }
    }

    /// Replaces the whole log with one empty segment starting at `nextIndex`.
    private func reset(nextIndex: UInt64) throws(StorageError) {
        var old = segments
        let active = segments[segments.count - 1]
        if active.isEmpty && active.firstIndex == nextIndex {
            old.removeLast()
        } else {
            try createSegment(firstIndex: nextIndex)
        }
        for segment in old { try POSIXFile.unlink(path(segment)) }
        segments = [segments[segments.count - 1]]
        if options.fsyncEnabled && !old.isEmpty { try POSIXFile.syncDirectory(directory) }
    }
}
