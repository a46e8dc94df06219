import Foundation
import Shared
import Synchronization

/// Carries opaque messages (Raft's) between masters over HTTP/1.1 on the peer port.
///
/// Each peer has one outbound queue, bounded in bytes, drained in order by one sender thread
/// that POSTs batches to the peer's `/raft/v1/messages` over a kept-alive connection. When the
/// queue is full, or a batch cannot be delivered, messages are dropped: Raft treats the network
/// as lossy and retransmits, so the transport never blocks the node and never buffers without
/// bound. Frames in a body: `u32 little-endian length | bytes`, repeated.
///
/// A message larger than one batch (a snapshot) travels apart from the queue, in chunks of
/// `batchBytesMax` on `/raft/v1/chunks`, one such message per peer at a time (see
/// `PeerTransport+Bulk.swift`), so in-flight bytes per peer stay bounded by the queue plus the
/// one message Raft is already holding.
///
/// Peers can be added and removed while running (a master joining or leaving the group), up to
/// `peersMax`; a removed or replaced peer's sender thread ends after its current batch.
final class PeerTransport: Sendable {
    struct Configuration: Sendable {
        var peersMax = 16
        var queuedBytesMax = 16 << 20
        var batchBytesMax = 4 << 20
        var requestTimeout: Duration = .seconds(5)
        var retryDelayMax: Duration = .seconds(1)
        /// The largest single message (a snapshot of the whole store), sent in chunks.
        var bulkBytesMax = 1 << 30
        /// What chunked messages being received may declare together, from all senders.
        var assemblingBytesMax = 1 << 30
        /// A chunked message that has not moved for this long is discarded.
        var assemblyIdleTimeout: Duration = .seconds(30)
    }

    static let path = "/raft/v1/messages"
    static let fromHeader = "Fuller-From"
    /// The sender's client API address, so followers can redirect clients to the leader.
    static let apiHeader = "Fuller-Api"

    final class Peer: Sendable {
        let id: String
        let url: String
        let client: HTTPClient
        let queue = Mutex<(frames: [[UInt8]], bytes: Int, stopped: Bool)>(([], 0, false))
        let wake = DispatchSemaphore(value: 0)
        let dropped = Atomic<Int>(0)
        /// The one oversized message being sent in chunks, if any.
        let bulk = Mutex<Bulk?>(nil)

        init(id: String, url: String, client: HTTPClient) {
            self.id = id
            self.url = url
            self.client = client
        }

        func stop() {
            queue.withLock { $0.stopped = true }
            wake.signal()
            client.shutdown()
        }
    }

    let selfId: String
    /// This master's client API address, sent with every batch; set again once the API
    /// listens, as `--api HOST:0` learns its port only then.
    private let apiAddressBox: Mutex<String>
    var apiAddress: String {
        get { apiAddressBox.withLock { $0 } }
        set { apiAddressBox.withLock { $0 = newValue } }
    }
    let configuration: Configuration
    /// Chunked messages being received, by sender.
    let assembling: Mutex<ChunkTransfers>
    /// Whether a `Fuller-From` name is a member this master accepts messages from.
    let admits: @Sendable (String) -> Bool
    /// The `Authorization` header sent with every batch, when the peers require a token.
    let authorization: String?
    private let peers = Mutex<(byID: [String: Peer], stopped: Bool)>(([:], false))
    let deliver: @Sendable (_ from: String, _ apiAddress: String?, _ frames: [[UInt8]]) -> Void

    /// `peerURLs`: every other master's peer address (`http://host:port`) by id.
    /// `token`: the `peer` token presented to the other masters, if they require one.
    /// `admits`: whether a sender's name is a member (others are refused with 403, unread).
    init(selfId: String, apiAddress: String = "", peerURLs: [String: String], configuration: Configuration = Configuration(),
         token: String? = nil, admits: @escaping @Sendable (String) -> Bool = { _ in true },
         deliver: @escaping @Sendable (_ from: String, _ apiAddress: String?, _ frames: [[UInt8]]) -> Void) throws {
        self.selfId = selfId
        self.admits = admits
        assembling = Mutex(ChunkTransfers(limits: .init(bytesMax: configuration.assemblingBytesMax,
                                                         idleTimeout: configuration.assemblyIdleTimeout)))
        authorization = token.map { "Bearer \($0)" }
        apiAddressBox = Mutex(apiAddress)
        self.configuration = configuration
        self.deliver = deliver
        for (id, url) in peerURLs where id != selfId { try setPeer(id, url: url) }
    }

    /// Adds `id` at `url` (`http://host:port`), or moves it there; a no-op when nothing changes.
    /// Throws `PeerTransportError.tooManyPeers` past `peersMax`.
    func setPeer(_ id: String, url: String) throws {
        guard id != selfId else { return }
        var client = HTTPClient.Configuration()
        client.requestTimeout = configuration.requestTimeout
        client.maxConnections = 2
        let peer = Peer(id: id, url: url, client: try HTTPClient(url: url, configuration: client))
        let (started, replaced) = try peers.withLock { p throws -> (Bool, Peer?) in
            if p.stopped || p.byID[id]?.url == url { return (false, nil) }
            guard p.byID[id] != nil || p.byID.count < configuration.peersMax else {
                throw PeerTransportError.tooManyPeers(configuration.peersMax)
            }
            let old = p.byID.updateValue(peer, forKey: id)
            return (true, old)
        }
        replaced?.stop()
        guard started else { return peer.client.shutdown() }
        let thread = Thread { [self] in self.senderLoop(peer) }
        thread.name = "fuller-peer-\(id)"
        thread.start()
    }

    /// Stops sending to `id` (it left the group).
    func removePeer(_ id: String) {
        peers.withLock { $0.byID.removeValue(forKey: id) }?.stop()
    }

    /// The peers messages can be sent to, with their URLs.
    var peerURLs: [String: String] { peers.withLock { $0.byID.mapValues(\.url) } }

    /// Queues `frame` for `peer`; drops it (and counts the drop) when the queue is full.
    func send(to peer: String, _ frame: [UInt8]) {
        guard let p = peers.withLock({ $0.byID[peer] }) else { return }
        if frame.count > configuration.batchBytesMax { return sendBulk(p, frame) }
        let accepted = p.queue.withLock { q -> Bool in
            guard !q.stopped, q.bytes + frame.count <= configuration.queuedBytesMax else { return false }
            q.frames.append(frame)
            q.bytes += frame.count
            return true
        }
        if accepted { p.wake.signal() } else { p.dropped.add(1, ordering: .relaxed) }
    }

    /// Messages dropped for `peer` because its queue was full or delivery failed.
    func droppedCount(_ peer: String) -> Int { peers.withLock { $0.byID[peer] }?.dropped.load(ordering: .relaxed) ?? 0 }

    func stop() {
        let all = peers.withLock { p -> [Peer] in
            p.stopped = true
            return Array(p.byID.values)
        }
        for peer in all { peer.stop() }
    }

    /// The receiving side: mount on the peer port's router.
    func register(on router: inout Router) {
        router.add(.POST, Self.path) { [self] request, _, respond in
            let from: String
            switch sender(of: request) {
            case .success(let name): from = name
            case .failure(let refusal): return respond(refusal.response)
            }
            guard let frames = Self.decode(request.body) else {
                respond(APIError(.invalidArgument, "malformed message frames").response)
                return
            }
            deliver(from, request.headers[Self.apiHeader], frames)
            respond(HTTPResponse(status: 204))
        }
        router.add(.POST, Self.chunkPath) { [self] request, _, respond in respond(receiveChunk(request)) }
    }

    /// The member a request comes from (`Fuller-From`), or why it is refused.
    func sender(of request: HTTPRequest) -> Result<String, APIError> {
        guard let from = request.headers[Self.fromHeader], !from.isEmpty else {
            return .failure(APIError(.invalidArgument, "missing \(Self.fromHeader)", field: Self.fromHeader))
        }
        guard from != selfId, admits(from) else {
            return .failure(APIError(.permissionDenied, "\(from.prefix(128)) is not a member of this group", field: Self.fromHeader))
        }
        return .success(from)
    }

    private func senderLoop(_ peer: Peer) {
        var delay: Duration = .milliseconds(20)
        while true {
            peer.wake.wait()
            let (batch, stopped) = peer.queue.withLock { q -> ([[UInt8]], Bool) in
                var count = 0, bytes = 0
                while count < q.frames.count, count == 0 || bytes + q.frames[count].count <= configuration.batchBytesMax {
                    bytes += q.frames[count].count
                    count += 1
                }
                let batch = Array(q.frames.prefix(count))
                q.frames.removeFirst(count)
                q.bytes -= bytes
                return (batch, q.stopped)
            }
            if stopped { return }
            var ok = true
            if !batch.isEmpty {
                var headers: HTTPHeaders = [Self.fromHeader: selfId, Self.apiHeader: apiAddress]
                if let authorization { headers.add("Authorization", authorization) }
                ok = (try? peer.client.send(.POST, Self.path, headers: headers, body: Self.encode(batch)))
                    .map { $0.status == 204 } ?? false
                if !ok { peer.dropped.add(batch.count, ordering: .relaxed) }
            }
            // Small messages (heartbeats, appends) go first; a chunk of a large one after each batch.
            if ok { ok = sendNextChunk(peer) }
            if ok {
                delay = .milliseconds(20)
            } else {
                Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds))
                delay = min(delay * 2, configuration.retryDelayMax)
            }
            // More may have queued while this batch was in flight.
            if peer.queue.withLock({ !$0.frames.isEmpty }) || peer.bulk.withLock({ $0 != nil }) { peer.wake.signal() }
        }
    }

    static func encode(_ frames: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(frames.reduce(0) { $0 + 4 + $1.count })
        for frame in frames {
            var length = UInt32(frame.count).littleEndian
            withUnsafeBytes(of: &length) { body.append(contentsOf: $0) }
            body.append(contentsOf: frame)
        }
        return body
    }

    /// nil when a length runs past the end of the body.
    static func decode(_ body: [UInt8]) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < body.count {
            guard offset + 4 <= body.count else { return nil }
            let length = Int(UInt32(body[offset]) | UInt32(body[offset + 1]) << 8 | UInt32(body[offset + 2]) << 16 | UInt32(body[offset + 3]) << 24)
            offset += 4
            guard length <= body.count - offset else { return nil }
            frames.append(Array(body[offset..<offset + length]))
            offset += length
        }
        return frames
    }
}

enum PeerTransportError: Error, CustomStringConvertible {
    case tooManyPeers(Int)

    var description: String {
        switch self {
        case .tooManyPeers(let max): "the transport already has \(max) peers, its limit"
        }
    }
}
