import Foundation
import Shared
import Synchronization

/// Messages larger than one batch — in practice InstallSnapshot with the whole store — travel
/// in chunks of `batchBytesMax`, each a `POST /raft/v1/chunks` carrying the transfer's id, the
/// chunk's offset and the message's total size. The receiver appends a chunk only at the offset
/// it expects and hands the message to Raft once complete; anything out of order ends the
/// transfer on both sides (`409`), and Raft sends the snapshot again after its retry timeout.
///
/// One large message per peer at a time: a second one while the first is on its way is
/// dropped (Raft retries a snapshot it hears nothing about, and a retry of the same snapshot
/// must not restart a transfer that is making progress). So a peer costs at most
/// `queuedBytesMax` plus one message on either side.
extension PeerTransport {
    static let chunkPath = "/raft/v1/chunks"
    static let transferHeader = "Fuller-Transfer"
    static let offsetHeader = "Fuller-Offset"
    static let totalHeader = "Fuller-Total"

    struct Bulk: Sendable {
        var id: UInt64
        var frame: [UInt8]
        var offset = 0
    }

    func sendBulk(_ peer: Peer, _ frame: [UInt8]) {
        let accepted = frame.count <= configuration.bulkBytesMax && peer.bulk.withLock { b -> Bool in
            guard b == nil else { return false }
            b = Bulk(id: UInt64.random(in: 1...UInt64.max), frame: frame)
            return true
        }
        if accepted { peer.wake.signal() } else { peer.dropped.add(1, ordering: .relaxed) }
    }

    /// Sends the next chunk of `peer`'s large message, if it has one. False when the peer did
    /// not take it: the message is then abandoned (Raft retries).
    func sendNextChunk(_ peer: Peer) -> Bool {
        guard let (id, offset, total, chunk) = peer.bulk.withLock({ b -> (UInt64, Int, Int, ArraySlice<UInt8>)? in
            guard let b else { return nil }
            let end = min(b.offset + configuration.batchBytesMax, b.frame.count)
            return (b.id, b.offset, b.frame.count, b.frame[b.offset..<end])
        }) else { return true }
        var headers: HTTPHeaders = [Self.fromHeader: selfId, Self.apiHeader: apiAddress, Self.transferHeader: String(id),
                       Self.offsetHeader: String(offset), Self.totalHeader: String(total)]
        if let authorization { headers.add("Authorization", authorization) }
        let ok = (try? peer.client.send(.POST, Self.chunkPath, headers: headers, body: Array(chunk)))
            .map { $0.status == 204 } ?? false
        peer.bulk.withLock { b in
            guard b?.id == id else { return }
            if ok, offset + chunk.count < total { b?.offset = offset + chunk.count } else { b = nil }
        }
        if !ok { peer.dropped.add(1, ordering: .relaxed) }
        return ok
    }

    /// The receiving side of one chunk; `now` is when it arrived.
    func receiveChunk(_ request: HTTPRequest, now: ContinuousClock.Instant = .now) -> HTTPResponse {
        let from: String
        switch sender(of: request) {
        case .success(let name): from = name
        case .failure(let refusal): return refusal.response
        }
        guard let id = request.headers[Self.transferHeader].flatMap({ UInt64($0) }),
              let offset = request.headers[Self.offsetHeader].flatMap({ Int($0) }),
              let total = request.headers[Self.totalHeader].flatMap({ Int($0) }),
              // In an order that cannot overflow: the header values are the sender's to choose.
              offset >= 0, total > 0, !request.body.isEmpty, request.body.count <= total,
              offset <= total - request.body.count else {
            return APIError(.invalidArgument, "a chunk needs \(Self.transferHeader), \(Self.offsetHeader) and \(Self.totalHeader) that fit its body").response
        }
        guard total <= configuration.bulkBytesMax else {
            return APIError(.payloadTooLarge, "a message of \(total) bytes is over the limit of \(configuration.bulkBytesMax)",
                            field: Self.totalHeader).response
        }
        let outcome = assembling.withLock { $0.receive(from: from, id: id, offset: offset, total: total, body: request.body, now: now) }
        switch outcome {
        case .outOfOrder:
            return APIError(.conflict, "chunk at \(offset) of transfer \(id) is out of order; transfer abandoned").response
        case .overLimit:
            return APIError(.unavailable, "chunked transfers under way hold too many bytes; retry later", field: Self.totalHeader).response
        case .complete(let frame):
            deliver(from, request.headers[Self.apiHeader], [frame])
            return HTTPResponse(status: 204)
        case .partial: return HTTPResponse(status: 204)
        }
    }
}
