import Raft

/// Raft messages on the wire between masters: a compact little-endian binary form (log entries
/// carry bytes, which JSON would have to re-encode). Decoding checks every length against what
/// is left, so a damaged or hostile frame is rejected, never trusted.
enum RaftWire {
    static let kinds: [MessageKind] = [.preVote, .preVoteResponse, .vote, .voteResponse, .append, .appendResponse,
                                       .heartbeat, .heartbeatResponse, .snapshot, .timeoutNow]
    static let entriesMax = 100_000

    static func encode(_ m: Message) -> [UInt8] {
        var w = Writer()
        w.u8(UInt8(kinds.firstIndex(of: m.kind)!))
        for v in [m.from, m.to, m.term, m.logTerm, m.index, m.commit, hintSlot(m)] { w.u64(v) }
        w.u8(m.reject ? 1 : 0)
        w.u8(m.force ? 1 : 0)
        w.bytes(m.context)
        w.u32(UInt32(m.entries.count))
        for e in m.entries { entry(e, &w) }
        if let s = m.snapshot {
            w.u8(1)
            w.u64(s.metadata.index)
            w.u64(s.metadata.term)
            w.bytes(s.metadata.conf.encoded())
            w.bytes(s.data)
        } else {
            w.u8(0)
        }
        return w.out
    }

    /// Appends and heartbeats carry no rejection hint, so their hint slot carries the leader's
    /// transfer target: the frame keeps the previous release's layout, which a mixed group's old
    /// members decode (they refuse bytes after the snapshot) and whose slot they ignore.
    static func carriesTransferee(_ kind: MessageKind) -> Bool { kind == .append || kind == .heartbeat }

    private static func hintSlot(_ m: Message) -> UInt64 { carriesTransferee(m.kind) ? m.transferee : m.rejectHint }

    static func entry(_ e: Entry, _ w: inout Writer) {
        w.u64(e.term)
        w.u64(e.index)
        w.u8(e.kind.rawValue)
        w.bytes(e.data)
    }

    static func decode(_ bytes: [UInt8]) -> Message? {
        var r = Reader(bytes: bytes)
        guard let k = r.u8(), Int(k) < kinds.count, let from = r.u64(), let to = r.u64(), let term = r.u64() else { return nil }
        var m = Message(kind: kinds[Int(k)], from: from, to: to, term: term)
        guard let logTerm = r.u64(), let index = r.u64(), let commit = r.u64(), let hint = r.u64(),
              let reject = r.u8(), let force = r.u8(), let context = r.bytes(), let count = r.u32(),
              count <= entriesMax else { return nil }
        (m.logTerm, m.index, m.commit, m.reject, m.force, m.context) = (logTerm, index, commit, reject == 1, force == 1, context)
        if carriesTransferee(m.kind) { m.transferee = hint } else { m.rejectHint = hint }
        m.entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let t = r.u64(), let i = r.u64(), let kindRaw = r.u8(), let kind = EntryKind(rawValue: kindRaw),
                  let data = r.bytes() else { return nil }
            m.entries.append(Entry(term: t, index: i, kind: kind, data: data))
        }
        guard let hasSnapshot = r.u8() else { return nil }
        if hasSnapshot == 1 {
            guard let i = r.u64(), let t = r.u64(), let confBytes = r.bytes(), let conf = ConfState(validating: confBytes),
                  let data = r.bytes() else { return nil }
            m.snapshot = Snapshot(metadata: SnapshotMetadata(index: i, term: t, conf: conf), data: data)
        }
        return r.atEnd ? m : nil
    }

    struct Writer {
        var out: [UInt8] = []
        mutating func u8(_ v: UInt8) { out.append(v) }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        mutating func bytes(_ b: [UInt8]) { u32(UInt32(b.count)); out.append(contentsOf: b) }
    }

    struct Reader {
        let input: [UInt8]
        var at = 0
        init(bytes: [UInt8]) { input = bytes }
        var atEnd: Bool { at == input.count }
        mutating func u8() -> UInt8? { guard at < input.count else { return nil }; defer { at += 1 }; return input[at] }
        mutating func uint(_ width: Int) -> UInt64? {
            guard at + width <= input.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(input[at + i]) << (8 * UInt64(i)) }
            at += width
            return v
        }
        mutating func u32() -> UInt32? { uint(4).map { UInt32($0) } }
        mutating func u64() -> UInt64? { uint(8) }
        mutating func bytes() -> [UInt8]? {
            guard let n = u32(), Int(n) <= input.count - at else { return nil }
            defer { at += Int(n) }
            return Array(input[at..<at + Int(n)])
        }
    }
}
