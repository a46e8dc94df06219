import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Master
@testable import Shared

@Suite(.serialized) struct PeerTransportTests {
    /// A peer endpoint whose transport is attached after its server has a port.
    final class Endpoint: Sendable {
        let received = Mutex<[(String, [UInt8])]>([])
        let transport = Mutex<PeerTransport?>(nil)
        let server: HTTPServer

        init() throws {
            var router = Router()
            let slot = Slot()
            for path in [PeerTransport.path, PeerTransport.chunkPath] {
                router.add(.POST, path) { request, _, respond in
                    guard let t = slot.transport.withLock({ $0 }) else { respond(HTTPResponse(status: 503)); return }
                    var inner = Router()
                    t.register(on: &inner)
                    inner.handle(request, respond: respond)
                }
            }
            server = HTTPServer(configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0), handler: router)
            try server.start()
            self.slot = slot
        }

        final class Slot: Sendable { let transport = Mutex<PeerTransport?>(nil) }
        private let slot: Slot

        func attach(id: String, peers: [String: String], configuration: PeerTransport.Configuration = .init()) throws {
            let t = try PeerTransport(selfId: id, peerURLs: peers, configuration: configuration) { [self] from, _, frames in
                received.withLock { r in r.append(contentsOf: frames.map { (from, $0) }) }
            }
            slot.transport.withLock { $0 = t }
            transport.withLock { $0 = t }
        }

        var url: String { "http://127.0.0.1:\(server.port)" }
        var t: PeerTransport { transport.withLock { $0 }! }
    }

    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func framesArriveInOrderFromTheRightPeer() async throws {
        let a = try Endpoint(), b = try Endpoint()
        try a.attach(id: "m1", peers: ["m2": b.url])
        try b.attach(id: "m2", peers: ["m1": a.url])
        for i in 0..<200 { a.t.send(to: "m2", Array("m\(i)".utf8)) }
        b.t.send(to: "m1", [1, 2, 3])
        #expect(try await Self.eventually { b.received.withLock { $0.count } == 200 })
        #expect(b.received.withLock { $0.map { String(decoding: $0.1, as: UTF8.self) } } == (0..<200).map { "m\($0)" })
        #expect(b.received.withLock { $0.allSatisfy { $0.0 == "m1" } })
        #expect(try await Self.eventually { a.received.withLock { $0.first?.1 } == [1, 2, 3] })
        a.t.stop(); b.t.stop()
        await a.server.shutdown(); await b.server.shutdown()
    }

    @Test func aDeadPeerCostsDroppedMessagesNotMemory() async throws {
        let a = try Endpoint()
        var config = PeerTransport.Configuration()
        config.queuedBytesMax = 1_000
        // Nothing listens on the peer's address: connections are refused at once.
        let dead = try Endpoint()
        let deadURL = dead.url
        await dead.server.shutdown()
        let t = try PeerTransport(selfId: "m1", peerURLs: ["m2": deadURL], configuration: config) { _, _, _ in }
        for _ in 0..<100 { t.send(to: "m2", [UInt8](repeating: 7, count: 100)) }
        // At most 10 frames fit the 1,000-byte queue: the rest are dropped at once (how many
        // depends on how fast the sender drains it), and what was queued is dropped when its
        // delivery fails (counted by the sender thread, so wait).
        #expect(t.droppedCount("m2") >= 50)
        #expect(try await Self.eventually { t.droppedCount("m2") == 100 }, "undeliverable frames are dropped, not kept")
        t.stop()
        await a.server.shutdown()
    }

    /// A message bigger than the whole queue (a snapshot) still arrives, whole and once, in
    /// chunks, with small messages flowing around it.
    @Test func aMessageLargerThanTheQueueArrivesInChunks() async throws {
        let a = try Endpoint(), b = try Endpoint()
        var config = PeerTransport.Configuration()
        config.queuedBytesMax = 4_096
        config.batchBytesMax = 1_024
        try a.attach(id: "m1", peers: ["m2": b.url], configuration: config)
        try b.attach(id: "m2", peers: ["m1": a.url], configuration: config)
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        a.t.send(to: "m2", big)
        a.t.send(to: "m2", [1])
        // A second large message while the first travels is dropped, not queued behind it.
        a.t.send(to: "m2", [UInt8](repeating: 9, count: 2_000))
        #expect(try await Self.eventually { b.received.withLock { r in r.contains { $0.1 == big } && r.contains { $0.1 == [1] } } })
        #expect(b.received.withLock { r in r.filter { $0.1.count > 1_024 }.map(\.1.count) } == [100_000])
        #expect(a.t.droppedCount("m2") == 1)
        a.t.stop(); b.t.stop()
        await a.server.shutdown(); await b.server.shutdown()
    }

    @Test func chunksOutOfOrderAbandonTheTransfer() throws {
        let t = try PeerTransport(selfId: "m2", peerURLs: [:]) { _, _, _ in Issue.record("nothing is complete") }
        func chunk(_ id: Int, _ offset: Int, _ body: [UInt8], total: Int = 6) -> HTTPResponse {
            let headers: HTTPHeaders = [PeerTransport.fromHeader: "m1", PeerTransport.transferHeader: String(id),
                                        PeerTransport.offsetHeader: String(offset), PeerTransport.totalHeader: String(total)]
            return t.receiveChunk(HTTPRequest(method: .POST, target: PeerTransport.chunkPath, headers: headers, body: body))
        }
        #expect(chunk(7, 0, [1, 2]).status == 204)
        #expect(chunk(7, 4, [5, 6]).status == 409, "a gap")
        #expect(chunk(7, 2, [3, 4]).status == 409, "the transfer was abandoned")
        #expect(chunk(8, 0, [1, 2, 3, 4, 5, 6, 7]).status == 400, "a body past the total")
        #expect(chunk(9, Int.max, [1], total: 10).status == 400, "an offset that would overflow is refused, not a crash")
        var limited = PeerTransport.Configuration()
        limited.bulkBytesMax = 10
        let small = try PeerTransport(selfId: "m2", peerURLs: [:], configuration: limited) { _, _, _ in }
        let headers: HTTPHeaders = [PeerTransport.fromHeader: "m1", PeerTransport.transferHeader: "1",
                                    PeerTransport.offsetHeader: "0", PeerTransport.totalHeader: "11"]
        #expect(small.receiveChunk(HTTPRequest(method: .POST, target: PeerTransport.chunkPath, headers: headers, body: [1])).status == 413)
    }

    @Test func framingRejectsATruncatedBody() {
        let body = PeerTransport.encode([[1, 2], [], [3]])
        #expect(PeerTransport.decode(body) == [[1, 2], [], [3]])
        #expect(PeerTransport.decode(Array(body.dropLast())) == nil)
        #expect(PeerTransport.decode([9, 0, 0]) == nil)
    }
}
