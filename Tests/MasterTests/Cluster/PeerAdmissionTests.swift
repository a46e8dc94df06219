import Synchronization
import Testing
@testable import Master
@testable import Raft
@testable import Shared

/// What the peer port lets in: members only, chunked transfers bounded per sender, in total and
/// in time, and redirect addresses that are only ever `HOST:PORT`.
@Suite struct PeerAdmissionTests {
    static func chunk(_ t: PeerTransport, from: String, id: Int, offset: Int, _ body: [UInt8], total: Int,
                      at now: ContinuousClock.Instant = .now) -> Int {
        let headers: HTTPHeaders = [PeerTransport.fromHeader: from, PeerTransport.transferHeader: String(id),
                                    PeerTransport.offsetHeader: String(offset), PeerTransport.totalHeader: String(total)]
        return t.receiveChunk(HTTPRequest(method: .POST, target: PeerTransport.chunkPath, headers: headers, body: body), now: now).status
    }

    /// Unfinished transfers from made-up senders held memory forever (22 → 142 MiB for 24).
    @Test func transfersFromSendersThatAreNotMembersAreRefusedUnread() throws {
        let t = try PeerTransport(selfId: "m1", peerURLs: [:], admits: { ["m2", "m3"].contains($0) }) { _, _, _ in }
        for i in 0..<24 { #expect(Self.chunk(t, from: "made-up-\(i)", id: i, offset: 0, [1], total: 1 << 20) == 403) }
        #expect(Self.chunk(t, from: "m1", id: 1, offset: 0, [1], total: 2) == 403, "nobody speaks as this master")
        #expect(t.assembling.withLock { $0.open.isEmpty })
        #expect(Self.chunk(t, from: "m2", id: 1, offset: 0, [1], total: 2) == 204)
        #expect(t.assembling.withLock { $0.declaredBytes } == 2)
    }

    @Test func oneTransferPerSenderAndATotalCap() throws {
        var config = PeerTransport.Configuration()
        config.assemblingBytesMax = 100
        let delivered = Mutex<[[UInt8]]>([])
        let t = try PeerTransport(selfId: "m1", peerURLs: [:], configuration: config) { _, _, frames in
            delivered.withLock { $0 += frames }
        }
        #expect(Self.chunk(t, from: "m2", id: 1, offset: 0, [1], total: 60) == 204)
        #expect(Self.chunk(t, from: "m2", id: 2, offset: 0, [1], total: 60) == 204, "a new transfer replaces the sender's old one")
        #expect(t.assembling.withLock { $0.open.count } == 1)
        #expect(Self.chunk(t, from: "m3", id: 3, offset: 0, [1], total: 60) == 503, "over the total: refused, nothing held")
        #expect(t.assembling.withLock { $0.declaredBytes } == 60)
        #expect(Self.chunk(t, from: "m3", id: 4, offset: 0, [7, 8], total: 2) == 204)
        #expect(delivered.withLock { $0 } == [[7, 8]])
    }

    @Test func aStaleTransferIsDiscarded() throws {
        var config = PeerTransport.Configuration()
        config.assemblingBytesMax = 100
        config.assemblyIdleTimeout = .seconds(30)
        let t = try PeerTransport(selfId: "m1", peerURLs: [:], configuration: config) { _, _, _ in }
        let start = ContinuousClock.now
        #expect(Self.chunk(t, from: "m2", id: 1, offset: 0, [1], total: 90, at: start) == 204)
        #expect(Self.chunk(t, from: "m3", id: 2, offset: 0, [1], total: 90, at: start + .seconds(29)) == 503)
        #expect(Self.chunk(t, from: "m3", id: 2, offset: 0, [1], total: 90, at: start + .seconds(31)) == 204)
        #expect(t.assembling.withLock { $0.open.keys.sorted() } == ["m3"])
        #expect(Self.chunk(t, from: "m2", id: 1, offset: 1, [2], total: 90, at: start + .seconds(31)) == 409)
    }

    @Test func theTransferTargetTravelsOnTheWireAndOldFramesStillDecode() throws {
        var m = Message(kind: .heartbeat, from: 1, to: 2, term: 3)
        m.transferee = 7
        #expect(RaftWire.decode(RaftWire.encode(m)) == m)
        m.transferee = 0
        let plain = RaftWire.encode(m)
        #expect(RaftWire.decode(plain) == m)
        #expect(RaftWire.decode(plain + [1, 2]) == nil)
    }

    /// A member of the previous release refuses a frame with bytes after the snapshot, so the
    /// transfer target must not add any: with a trailing field, a new leader's every heartbeat
    /// and append during a transfer was dropped by the old members of a mixed group.
    @Test(arguments: [MessageKind.heartbeat, .append])
    func framesWithATransferTargetKeepThePreviousLayout(kind: MessageKind) {
        var m = Message(kind: kind, from: 1, to: 2, term: 3)
        m.entries = kind == .append ? [Entry(term: 3, index: 5, data: [1])] : []
        let plain = RaftWire.encode(m)
        m.transferee = 7
        let announcing = RaftWire.encode(m)
        #expect(announcing.count == plain.count)
        #expect(RaftWire.decode(announcing) == m)
    }

    @Test(arguments: [("10.0.0.1:4700", true), ("m1.example:80", true), ("[::1]:4700", true), ("evil.example:0", false),
                      ("http://evil.example:80", false), ("a/b:80", false), ("evil.example", false), (":80", false),
                      ("a@b:80", false)])
    func redirectAddressesAreHostAndPortOnly(text: String, valid: Bool) {
        #expect(RaftCluster.isHostPort(text) == valid)
    }

    /// Frames of every kind, with bytes flipped, cut or added, decoded and stepped into a node
    /// whose storage plays along: a frame either does not decode or is handled, never a crash.
    @Test func mutatedFramesNeverStopANode() {
        let storage = MemoryRaftStorage()
        var node = RaftNode(config: RaftConfig(id: 1, initialVoters: [1, 2, 3], seed: 5), storage: storage)
        var rng = SplitMix64(seed: 11)
        var seeds: [[UInt8]] = []
        for kind in RaftWire.kinds {
            var m = Message(kind: kind, from: 2, to: 1, term: 3)
            (m.index, m.logTerm, m.commit) = (1, 1, 2)
            if kind == .append { m.entries = [Entry(term: 3, index: 2, data: [1, 2]), Entry(term: 3, index: 3, kind: .configuration, data: ConfState(voters: [1, 2, 3]).encoded())] }
            if kind == .snapshot { m.snapshot = Snapshot(metadata: SnapshotMetadata(index: 5, term: 3, conf: ConfState(voters: [1, 2, 3])), data: [7]) }
            seeds.append(RaftWire.encode(m))
        }
        var decoded = 0
        for _ in 0..<20_000 {
            var frame = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: frame[Int.random(in: 0..<frame.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: frame.removeLast(min(frame.count - 1, Int.random(in: 1...8, using: &rng)))
                default: frame.append(UInt8.random(in: 0...255, using: &rng))
                }
            }
            guard let m = RaftWire.decode(frame) else { continue }
            decoded += 1
            node.step(m)
            guard node.hasReady else { continue }
            let ready = node.ready()
            if let snapshot = ready.snapshot { storage.installSnapshot(snapshot) }
            storage.append(ready.entries)
            if let hard = ready.hardState { storage.setHardState(hard) }
            node.advance(ready)
        }
        #expect(decoded > 1_000, "the mutations should mostly still decode: \(decoded)")
        #expect(node.commitIndex <= node.lastIndex)
    }
}
