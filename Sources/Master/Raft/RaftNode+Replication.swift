/// Log replication: the leader's sending side (batching, pipelining, snapshots) and the
/// follower's handling of appends, heartbeats and snapshots.
extension RaftNode {
    // MARK: Leader: appending and committing

    /// Appends entries at the leader (assigning term and index) and sends them out. The leader
    /// counts its own copy towards a quorum only after the shell persisted it (`advance`).
    mutating func appendLocal(_ new: [Entry]) {
        var entries = new
        var next = log.lastIndex + 1
        for i in entries.indices {
            entries[i].term = term
            entries[i].index = next
            uncommitted.append((next, entries[i].byteCount))
            uncommittedBytes += entries[i].byteCount
            next += 1
        }
        log.append(entries)
        noteAppended(entries)
        broadcastAppend()
    }

    /// Figure 2 / §5.4.2: the commit index moves to the highest index a quorum of voters has
    /// persisted, but only if that entry is from the current term.
    @discardableResult
    mutating func maybeCommit() -> Bool {
        let voters = membership.current.voters
        guard !voters.isEmpty else { return false }
        let matches = voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        let candidate = matches[quorum - 1]
        guard candidate > log.committed, log.term(at: candidate) == term else { return false }
        log.commit(to: candidate)
        committed()
        return true
    }

    /// Leader bookkeeping after the commit index moved.
    private mutating func committed() {
        let c = log.committed
        while let first = uncommitted.first, first.index <= c {
            uncommittedBytes -= first.bytes
            uncommitted.removeFirst()
        }
        releaseReadsWaitingForCommit()
        // Thesis §4.2.2: a leader removed from the membership steps down once that is committed.
        if !membership.current.isVoter(id) && membership.lastIndex <= c {
            broadcastAppend()  // so the others learn the change committed
            becomeFollower(term: term, leader: 0)
        }
    }

    // MARK: Leader: sending

    mutating func broadcastAppend() {
        for peer in progress.keys.sorted() where peer != id {
            sendAppend(to: peer, evenIfEmpty: true)
        }
    }

    mutating func broadcastHeartbeat(context: [UInt8]) {
        for peer in progress.keys.sorted() where peer != id {
            var m = makeMessage(.heartbeat, to: peer)
            // Never ask a follower to commit past what it is known to hold.
            m.commit = min(progress[peer]!.match, log.committed)
            m.context = context
            m.transferee = transferTarget
            send(m)
        }
    }

    /// Sends `peer` the next batch of entries, or a snapshot when they were compacted away.
    /// Returns false when nothing was sent (paused, or nothing new and `evenIfEmpty` is false).
    @discardableResult
    mutating func sendAppend(to peer: NodeID, evenIfEmpty: Bool) -> Bool {
        guard var pr = progress[peer], !pr.isPaused else { return false }
        defer { progress[peer] = pr }
        let prevIndex = pr.next - 1
        guard let prevTerm = log.term(at: prevIndex),
              var entries = log.entries(from: pr.next, to: log.lastIndex + 1, maxBytes: config.appendBytesMax)
        else {
            return sendSnapshot(to: peer, progress: &pr)
        }
        if entries.count > config.appendEntriesMax { entries.removeLast(entries.count - config.appendEntriesMax) }
        if entries.isEmpty && !evenIfEmpty { return false }
        var m = makeMessage(.append, to: peer)
        m.index = prevIndex
        m.logTerm = prevTerm
        m.commit = log.committed
        m.entries = entries
        m.transferee = transferTarget
        pr.sent(lastIndex: entries.last?.index, bytes: entries.reduce(0) { $0 + $1.byteCount })
        send(m)
        return true
    }

    private mutating func sendSnapshot(to peer: NodeID, progress pr: inout Progress) -> Bool {
        guard let snap = log.storage.snapshot() else { return false }
        precondition(snap.metadata.index + 1 >= log.storage.firstIndex, "storage snapshot older than its log")
        var m = makeMessage(.snapshot, to: peer)
        m.snapshot = snap
        pr.becomeSnapshot(index: snap.metadata.index)
        send(m)
        return true
    }

    // MARK: Leader: responses

    mutating func stepLeader(_ m: Message) {
        guard progress[m.from] != nil else { return }
        if answersUnsentEntries(m) { return drop(.acknowledgesUnsentEntries) }
        progress[m.from]!.recentActive = true
        switch m.kind {
        case .appendResponse: handleAppendResponse(m)
        case .heartbeatResponse: handleHeartbeatResponse(m)
        default: break
        }
    }

    private mutating func handleAppendResponse(_ m: Message) {
        let peer = m.from
        if m.reject {
            // Fast backtracking: skip every entry of a term the follower cannot have.
            let hint = m.logTerm > 0 ? log.lastIndexWithTerm(atMost: m.logTerm, from: m.rejectHint).index : m.rejectHint
            if progress[peer]!.decrease(rejected: m.index, hint: hint) {
                sendAppend(to: peer, evenIfEmpty: true)
            }
            return
        }
        let advanced = progress[peer]!.acknowledge(m.index)
        switch progress[peer]!.state {
        case .probe: progress[peer]!.becomeReplicate()
        case .snapshot(let index) where progress[peer]!.match >= index:
            progress[peer]!.becomeProbe()
            progress[peer]!.becomeReplicate()
        default: break
        }
        if advanced && maybeCommit() {
            if role == .leader { broadcastAppend() }
        } else if role == .leader {
            // Fill the pipeline: the acknowledgement may have opened the inflight window.
            var sent = 0
            while sent < config.inflightMessagesMax && sendAppend(to: peer, evenIfEmpty: false) { sent += 1 }
        }
        if role == .leader && peer == transferTarget && progress[peer]!.match == log.lastIndex {
            send(makeMessage(.timeoutNow, to: peer))
        }
    }

    private mutating func handleHeartbeatResponse(_ m: Message) {
        let peer = m.from
        progress[peer]!.probeSent = false
        // Appends in a full window may all have been lost; free one so replication resumes
        // (the follower rejects a gap and we fall back to probing).
        if progress[peer]!.state == .replicate && progress[peer]!.inflights.isFull {
            progress[peer]!.inflights.freeFirst()
        }
        if case .snapshot = progress[peer]!.state {
            // The snapshot may have been lost; retry after an election timeout's worth of beats.
            progress[peer]!.snapshotWaitTicks += 1
            if progress[peer]!.snapshotWaitTicks >= config.electionTicksMin { progress[peer]!.becomeProbe() }
        }
        if progress[peer]!.match < log.lastIndex { sendAppend(to: peer, evenIfEmpty: true) }
        if !m.context.isEmpty { acknowledgeRead(context: m.context, from: peer) }
    }

    // MARK: Follower

    /// Figure 2, AppendEntries receiver.
    mutating func handleAppend(_ m: Message) {
        var r = makeMessage(.appendResponse, to: m.from)
        if m.index < log.committed {
            r.index = log.committed
            send(r)
            return
        }
        guard log.matchTerm(m.index, m.logTerm) else {
            // Reply false: our log has no entry at prevLogIndex with prevLogTerm. Hint where our
            // log might agree: the last index at or before it whose term is not newer.
            let hint = log.lastIndexWithTerm(atMost: m.logTerm, from: m.index)
            r.reject = true
            r.index = m.index
            r.rejectHint = hint.index
            r.logTerm = hint.term
            send(r)
            return
        }
        let lastNew = m.index + UInt64(m.entries.count)
        if let conflict = log.firstConflict(m.entries) {
            // Entries start after `m.index >= committed` and run on one by one (`invalidity`).
            precondition(conflict > log.committed, "leader \(m.from) conflicts with committed entry \(conflict)")
            let fresh = Array(m.entries[Int(conflict - m.index - 1)...])
            log.append(fresh)
            noteAppended(fresh)
        }
        log.commit(to: min(m.commit, lastNew))
        r.index = lastNew
        send(r)
    }

    mutating func handleHeartbeat(_ m: Message) {
        log.commit(to: min(m.commit, log.lastIndex))
        var r = makeMessage(.heartbeatResponse, to: m.from)
        r.context = m.context
        send(r)
    }

    /// InstallSnapshot receiver: ignore what we already have, otherwise replace the log.
    mutating func handleSnapshot(_ m: Message) {
        guard let snap = m.snapshot else { return }
        var r = makeMessage(.appendResponse, to: m.from)
        let meta = snap.metadata
        if meta.index <= log.committed {
            r.index = log.committed
        } else if log.matchTerm(meta.index, meta.term) {
            log.commit(to: meta.index)
            r.index = meta.index
        } else {
            log.restore(snap)
            membership.restore(meta)
            applyMembership()
            r.index = meta.index
        }
        send(r)
    }
}
