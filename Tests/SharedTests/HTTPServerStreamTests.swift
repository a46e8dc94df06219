import Foundation
import Synchronization
import Testing
@testable import Shared

/// Live tests for streamed bodies, misbehaving clients and shutdown.
@Suite struct HTTPServerStreamTests {
    @Test func streamedBodyIsChunkedAndEnds() async throws {
        let closed = Atomic<Int>(0)
        let handler = ClosureHandler { _, respond in
            respond(HTTPResponse(status: 200, stream: HTTPStreamSource { writer in
                writer.onClose { closed.add(1, ordering: .relaxed) }
                DispatchQueue.global().async {
                    for part in ["one ", "", "two ", "three"] { #expect(writer.write(Array(part.utf8))) }
                    writer.finish()
                    #expect(!writer.write(Array("late".utf8)))
                }
            }))
        }
        try await withServer(handler: handler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\nGET /events HTTP/1.1\r\nHost: h\r\n\r\n")
            let first = try client.readResponse()
            #expect(first.headers["Transfer-Encoding"] == "chunked" && first.text == "one two three")
            #expect(try client.readResponse().text == "one two three")
            #expect(closed.load(ordering: .relaxed) == 2)
        }
    }

    @Test func slowReaderOfAStreamIsCut() async throws {
        let refused = Atomic<Bool>(false), closed = Atomic<Bool>(false)
        let handler = ClosureHandler { _, respond in
            respond(HTTPResponse(status: 200, stream: HTTPStreamSource { writer in
                writer.onClose { closed.store(true, ordering: .relaxed) }
                DispatchQueue.global().async {
                    let chunk = [UInt8](repeating: 120, count: 16 * 1024)
                    // Bounded: the socket buffers plus the limit are far below 4,096 chunks.
                    for _ in 0..<4096 where !writer.write(chunk) {
                        refused.store(true, ordering: .relaxed)
                        return
                    }
                }
            }))
        }
        try await withServer({ $0.maxOutputBufferBytes = 64 * 1024 }, handler: handler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /firehose HTTP/1.1\r\nHost: h\r\n\r\n")
            // The client never reads; the writer must be refused and the connection closed.
            let deadline = ContinuousClock.now + .seconds(5)
            while !(refused.load(ordering: .relaxed) && closed.load(ordering: .relaxed)) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(refused.load(ordering: .relaxed) && closed.load(ordering: .relaxed))
            #expect(server.openConnections == 0)
        }
    }

    @Test func clientVanishingMidResponseLeavesTheServerHealthy() async throws {
        let big = [UInt8](repeating: 65, count: 8 << 20)
        let handler = ClosureHandler { request, respond in
            respond(HTTPResponse(status: 200, body: request.path == "/big" ? big : Array("small".utf8)))
        }
        try await withServer(handler: handler) { server in
            for _ in 0..<3 {
                let client = try RawHTTPClient(port: server.port)
                try client.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
            }
            // The three clients are gone (deinit closed them) with megabytes unsent.
            let deadline = ContinuousClock.now + .seconds(5)
            while server.openConnections > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.openConnections == 0)
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /small HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().text == "small")
        }
    }

    @Test func garbageNeverCrashesOrLeaks() async throws {
        try await withServer(handler: echoHandler) { server in
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<50 {
                let client = try RawHTTPClient(port: server.port)
                try client.send((0..<Int.random(in: 1...512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                client.shutdownWrite()
                #expect(client.isClosedByServer())
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while server.openConnections > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.openConnections == 0)
        }
    }

    @Test func gracefulShutdownFinishesRequestsInFlight() async throws {
        // The handler parks its `respond`; the test answers only after shutdown has begun.
        let parked = Mutex<(@Sendable (HTTPResponse) -> Void)?>(nil)
        let handled = Mutex(0)
        let handler = ClosureHandler { _, respond in
            handled.withLock { $0 += 1 }
            parked.withLock { $0 = respond }
        }
        // One loop: once `idle` sees its close, that loop has closed its listener too.
        var configuration = HTTPServer.Configuration()
        configuration.eventLoopCount = 1
        let server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
        try server.start()
        let port = server.port
        let busy = try RawHTTPClient(port: port), idle = try RawHTTPClient(port: port)
        try busy.send("GET /inflight HTTP/1.1\r\nHost: h\r\n\r\n")
        let deadline = ContinuousClock.now + .seconds(5)
        while parked.withLock({ $0 == nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let started = ContinuousClock.now
        server.beginShutdown(grace: .seconds(3))
        #expect(idle.isClosedByServer())
        // No new connection is served: the listener is closed, so connecting fails, unless a
        // server of another test running alongside got the freed port; then our handler must
        // still never see the request.
        if let late = try? RawHTTPClient(port: port, timeout: .milliseconds(300)) {
            try? late.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n")
            _ = try? late.readResponse()
        }
        #expect(handled.withLock { $0 } == 1, "a request after shutdown began reached the handler")
        parked.withLock { $0 }?(HTTPResponse(status: 200, body: Array("done".utf8)))
        let answer = try busy.readResponse()
        #expect(answer.text == "done" && answer.headers["Connection"] == "close")
        await server.shutdown()
        await server.shutdown()
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(busy.isClosedByServer())
    }

    @Test func shutdownGraceBoundsAHandlerThatNeverAnswers() async throws {
        let server = HTTPServer(handler: ClosureHandler { _, _ in })
        try server.start()
        let client = try RawHTTPClient(port: server.port)
        try client.send("GET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        await server.shutdown(grace: .milliseconds(200))
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(client.isClosedByServer())
    }
}
