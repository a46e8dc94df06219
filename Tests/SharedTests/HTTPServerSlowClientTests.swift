import Foundation
import Synchronization
import Testing
@testable import Shared

/// Slowloris: clients that hold connections by sending their requests a byte at a time must not
/// keep anyone else out. Deadlines are checked against a clock the test moves.
@Suite struct HTTPServerSlowClientTests {
    /// A monotonic clock in nanoseconds that moves only when told.
    final class StepClock: Sendable {
        let nanos = Atomic<UInt64>(1_000_000_000)
        func advance(_ d: Duration) { nanos.add(EventLoop.nanos(d), ordering: .relaxed) }
        var reading: @Sendable () -> UInt64 { { [self] in nanos.load(ordering: .relaxed) } }
    }

    func withSteppedServer(_ clock: StepClock, _ configure: @escaping (inout HTTPServer.Configuration) -> Void = { _ in },
                           _ body: (HTTPServer) async throws -> Void) async throws {
        try await withServer({
            $0.headerReadTimeout = .seconds(10)
            $0.clockNanos = clock.reading
            configure(&$0)
        }, handler: echoHandler) { server in
            try await body(server)
            clock.advance(.seconds(3_600))   // lets the shutdown grace run out on this clock too
        }
    }

    @Test func aHeadDrippingInIsCutTheHeadTimeoutAfterItsFirstByte() async throws {
        let clock = StepClock()
        try await withSteppedServer(clock) { server in
            let client = try RawHTTPClient(port: server.port)
            // The complete first request proves the server has read the first byte of the second
            // (same segment) when the clock reads 0.
            try client.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nG")
            #expect(try client.readResponse().text == "GET /a ")
            clock.advance(.seconds(6))
            try client.send("ET / HTTP/1.1\r\n")
            clock.advance(.seconds(5))
            let cut = try client.readResponse()
            #expect(cut.status == 408 && cut.text.contains("request head not received within"))
            #expect(client.isClosedByServer())
        }
    }

    @Test func aBodySlowerThanTheMinimumRateIsCut() async throws {
        let clock = StepClock()
        try await withSteppedServer(clock, { $0.bodyMinBytesPerSecond = 100 }) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
                            + String(repeating: "x", count: 100))
            #expect(try client.readResponse().text == "GET /a ")
            // 10 s plus 1 s for 100 bytes; a byte every few seconds earns almost nothing.
            clock.advance(.seconds(5))
            try client.send("y")
            clock.advance(.seconds(7))
            let cut = try client.readResponse()
            #expect(cut.status == 408 && cut.text.contains("slower than 100 bytes per second"))
        }
    }

    @Test func aBodyAtAReasonablePaceIsServed() async throws {
        let clock = StepClock()
        try await withSteppedServer(clock, { $0.bodyMinBytesPerSecond = 100 }) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n" + String(repeating: "x", count: 1000))
            clock.advance(.seconds(15))   // 10 s + 1,000 bytes' worth (10 s) not yet spent
            try client.send(String(repeating: "x", count: 1000))
            #expect(try client.readResponse().status == 200)
        }
    }

    /// The attack, scaled down: the cap filled with clients dripping their heads. An
    /// agent's heartbeat and a probe are still answered at once; the oldest drippers make room.
    @Test func slowClientsAtTheCapDoNotKeepOutAgentsOrProbes() async throws {
        let cap = 64
        let handler = ClosureHandler { request, respond in
            let agent = request.headers["Authorization"] == "Bearer agent-token"
            switch request.path {
            case "/healthz": respond(HTTPResponse(status: 200, body: Array("ok".utf8)))
            case "/v1/agents/a1/heartbeat" where agent: respond(HTTPResponse(status: 200, body: Array("beat".utf8)))
            default: respond(HTTPResponse(status: 401))
            }
        }
        try await withServer({ $0.maxConnections = cap; $0.eventLoopCount = 1 }, handler: handler) { server in
            var slow: [RawHTTPClient] = []
            for i in 0..<cap {
                let client = try RawHTTPClient(port: server.port)
                try client.send("GET /slow/\(i) HTTP/1.1\r\nHo")
                slow.append(client)
            }
            try await waitUntil { server.openConnections == cap }
            for round in 0..<8 {
                let started = ContinuousClock.now
                let agent = try RawHTTPClient(port: server.port)
                try agent.send("POST /v1/agents/a1/heartbeat HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer agent-token\r\n"
                               + "Content-Length: 2\r\n\r\n{}")
                #expect(try agent.readResponse(to: .POST).text == "beat", "round \(round)")
                let probe = try RawHTTPClient(port: server.port)
                try probe.send("GET /healthz HTTP/1.1\r\nHost: m\r\n\r\n")
                #expect(try probe.readResponse().status == 200, "round \(round)")
                #expect(ContinuousClock.now - started < .seconds(2))
                for client in slow where !client.hasInput() { try? client.send("s") }   // the drippers keep dripping
            }
            #expect(server.openConnections <= cap)
            // The first drippers were the ones to go, in accept order, each with a 503. (Fewer than
            // 16: a round's clients close when it ends, which frees room for the next round.)
            let evicted = slow.prefix { $0.hasInput() }.count
            #expect(evicted >= 2 && !slow.dropFirst(evicted).contains { $0.hasInput() })
            #expect(try slow[0].readResponse().status == 503)
        }
    }

    /// Drippers that reconnect as soon as they are cut, more of them than the cap: connections
    /// churn as fast as the server evicts them, and every agent request must still get in.
    @Test func drippersReconnectingAtOnceStillLeaveRoomForAgents() async throws {
        let cap = 128
        let handler = ClosureHandler { _, respond in respond(HTTPResponse(status: 200, body: Array("beat".utf8))) }
        try await withServer({ $0.maxConnections = cap; $0.eventLoopCount = 2 }, handler: handler) { server in
            let stop = Atomic<Bool>(false)
            let reconnects = Atomic<Int>(0)
            let port = server.port
            let churn = Thread {
                var drippers: [RawHTTPClient?] = Array(repeating: nil, count: cap * 3 / 2)
                while !stop.load(ordering: .relaxed) {
                    for i in drippers.indices where drippers[i]?.hasInput() ?? true {
                        drippers[i] = try? RawHTTPClient(port: port)
                        try? drippers[i]?.send("GET /drip HTTP/1.1\r\nHo")
                        reconnects.add(1, ordering: .relaxed)
                    }
                }
            }
            churn.start()
            defer { stop.store(true, ordering: .relaxed) }
            try await waitUntil { reconnects.load(ordering: .relaxed) > cap * 4 }
            for round in 0..<100 {
                let agent = try RawHTTPClient(port: server.port)
                try agent.send("POST /v1/agents/a1/heartbeat HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}")
                #expect(try agent.readResponse(to: .POST).text == "beat", "round \(round)")
            }
            #expect(reconnects.load(ordering: .relaxed) > cap * 4, "the drippers were churning")
        }
    }

    @Test func connectionsOverTheCapGet503WhenEveryOneIsBeingAnswered() async throws {
        let held = Mutex<[@Sendable (HTTPResponse) -> Void]>([])
        let handler = ClosureHandler { _, respond in held.withLock { $0.append(respond) } }
        try await withServer({ $0.maxConnections = 2 }, handler: handler) { server in
            let a = try RawHTTPClient(port: server.port), b = try RawHTTPClient(port: server.port)
            for client in [a, b] { try client.send("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n") }
            try await waitUntil { held.withLock { $0.count } == 2 }
            let c = try RawHTTPClient(port: server.port)
            let refused = try c.readResponse()
            #expect(refused.status == 503 && refused.headers["Connection"] == "close")
            #expect(c.isClosedByServer())
            for respond in held.withLock({ $0 }) { respond(HTTPResponse(status: 200)) }
            #expect(try a.readResponse().status == 200 && b.readResponse().status == 200)
        }
    }

    /// Over 64 connections a loop weighs a random sample of them; a sample of only busy ones
    /// falls back to weighing all, so the two drippers among 128 held requests still make room
    /// (without the fallback about a third of the runs would refuse the first agent).
    @Test func aSampleOfBusyConnectionsFallsBackToWeighingAll() async throws {
        let held = Mutex<[@Sendable (HTTPResponse) -> Void]>([])
        let handler = ClosureHandler { request, respond in
            if request.path == "/hold" { held.withLock { $0.append(respond) } } else { respond(HTTPResponse(status: 200)) }
        }
        try await withServer({ $0.maxConnections = 130; $0.eventLoopCount = 1 }, handler: handler) { server in
            var busy: [RawHTTPClient] = []
            for _ in 0..<128 {
                let client = try RawHTTPClient(port: server.port)
                try client.send("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n")
                busy.append(client)
            }
            let drippers = try (0..<2).map { _ in try RawHTTPClient(port: server.port) }
            for d in drippers { try d.send("GET /drip HTTP/1.1\r\nHo") }
            try await waitUntil { held.withLock { $0.count } == 128 && server.openConnections == 130 }
            var agents: [RawHTTPClient] = []   // kept open: each must find the cap full
            for round in 0..<2 {
                let agent = try RawHTTPClient(port: server.port)
                try agent.send("GET /beat HTTP/1.1\r\nHost: h\r\n\r\n")
                #expect(try agent.readResponse().status == 200, "round \(round)")
                agents.append(agent)
            }
            // The first agent evicted a dripper (a sample misses both about a third of the time);
            // the second a dripper or the first agent, idle by then. Never a held request.
            #expect(drippers.contains { $0.hasInput() } && !busy.contains { $0.hasInput() })
            for respond in held.withLock({ $0 }) { respond(HTTPResponse(status: 200)) }
        }
    }

    @Test func anIdleKeepAliveConnectionMakesRoomAtTheCap() async throws {
        try await withServer({ $0.maxConnections = 1; $0.eventLoopCount = 1 }, handler: echoHandler) { server in
            let idle = try RawHTTPClient(port: server.port)
            try idle.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try idle.readResponse().status == 200)
            let next = try RawHTTPClient(port: server.port)
            try next.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try next.readResponse().text == "GET /second ")
            #expect(idle.isClosedByServer(), "closed silently: an idle client owes nothing and is owed nothing")
        }
    }

    /// Polls a condition the server reaches on its own threads, for at most 15 s (generous: the
    /// whole suite runs in parallel on small machines).
    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw RawHTTPClient.Failure(description: "condition not reached in 15 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
