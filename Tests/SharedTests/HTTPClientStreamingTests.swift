import Foundation
import Synchronization
import Testing
@testable import Shared

/// Line streaming, the async API, cancellation, the connection cap, Unix sockets and Docker.
@Suite struct HTTPClientStreamingTests {
    static let chunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"

    static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }

    /// Streams `pieces` as chunks, then holds the connection open until the client leaves.
    static func streaming(_ pieces: [String], unixPath: String? = nil) throws -> ScriptedServer {
        try ScriptedServer(unixPath: unixPath) { connection in
            guard connection.readRequest() != nil else { return }
            connection.write(chunkedHead)
            for piece in pieces { connection.write(chunk(piece)) }
            connection.waitForClose()
        }
    }

    /// Waits up to `seconds` (5) for `condition`, polling; false if it never held.
    static func eventually(seconds: Int = 5, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<(seconds * 100) {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func linesAcrossChunkBoundariesWithEarlyStop() throws {
        let server = try Self.streaming([#"{"a":1}"# + "\n" + #"{"b""#, #":2}"# + "\r\n\n" + #"{"c":3}"# + "\n{", #""d":4}"# + "\n"])
        defer { server.stop() }
        let client = HTTPClientTests.client(server)
        var lines: [String] = []
        var status = 0
        let end = try client.stream(HTTPRequest(method: .GET, target: "/v1/events"), onHead: { head in
            status = head.status
            return true
        }, onLine: { line in
            lines.append(String(decoding: line, as: UTF8.self))
            return lines.count < 3
        })
        #expect(end == .stopped && status == 200)
        #expect(lines == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
        // A stopped stream's connection is closed, not pooled.
        _ = try? client.send(.GET, "/", timeout: .milliseconds(300))
        #expect(server.acceptCount == 2)
    }

    @Test func streamCompletesWithLastLineUnterminated() throws {
        let server = try HTTPClientTests.answering("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\none\ntwo\nx")
        defer { server.stop() }
        var lines: [String] = []
        let end = try HTTPClientTests.client(server).stream(HTTPRequest(method: .GET, target: "/")) { line in
            lines.append(String(decoding: line, as: UTF8.self))
            return true
        }
        #expect(end == .completed && lines == ["one", "two", "x"])
    }

    @Test func overlongLineIsRefused() throws {
        let server = try Self.streaming([String(repeating: "z", count: 300), String(repeating: "z", count: 300)])
        defer { server.stop() }
        let client = HTTPClientTests.client(server) { $0.maxLineBytes = 512 }
        #expect(throws: HTTPClientError.lineTooLong(limitBytes: 512)) {
            try client.stream(HTTPRequest(method: .GET, target: "/")) { _ in true }
        }
    }

    @Test func onHeadCanDeclineTheBody() throws {
        let server = try HTTPClientTests.answering("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n")
        defer { server.stop() }
        var lines = 0
        let end = try HTTPClientTests.client(server).stream(HTTPRequest(method: .GET, target: "/"),
                                                            onHead: { $0.status == 200 },
                                                            onLine: { _ in lines += 1; return true })
        #expect(end == .stopped && lines == 0)
    }

    @Test func unixSocketRoundTrip() throws {
        let path = HTTPClientTests.temporarySocketPath()
        let server = try HTTPClientTests.answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", unixPath: path)
        defer { server.stop() }
        let client = try HTTPClient(url: "unix://" + path)
        #expect(try client.send(.GET, "/_ping").bodyBytes == Array("OK".utf8))
        #expect(try client.send(.GET, "/_ping").status == 200)
        #expect(server.acceptCount == 1)
        #expect(server.requests.first?.contains("\r\nHost: localhost\r\n") == true)
    }

    @Test func asyncSend() async throws {
        let server = try HTTPClientTests.answering("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes")
        defer { server.stop() }
        let client = HTTPClientTests.client(server)
        async let first = client.send(.GET, "/a")
        async let second = client.send(.GET, "/b")
        let (a, b) = try await (first, second)
        #expect(a.bodyBytes == Array("yes".utf8) && b.bodyBytes == Array("yes".utf8))
    }

    @Test func cancellingTheTaskClosesTheStream() async throws {
        let server = try Self.streaming(["first\n"])
        defer { server.stop() }
        let client = HTTPClientTests.client(server) { $0.idleReadTimeout = .seconds(30) }
        let seen = Atomic<Int>(0)
        let task = Task {
            try await client.stream(HTTPRequest(method: .GET, target: "/v1/events")) { _ in
                seen.add(1, ordering: .relaxed)
                return true
            }
        }
        #expect(await Self.eventually { seen.load(ordering: .relaxed) == 1 })
        let start = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(throws: HTTPClientError.cancelled) { try result.get() }
    }

    @Test func blockingCallCancelledFromAnotherThread() throws {
        let server = try Self.streaming([])
        defer { server.stop() }
        let client = HTTPClientTests.client(server) { $0.idleReadTimeout = .seconds(30) }
        let cancellation = HTTPClient.Cancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { cancellation.cancel() }
        #expect(throws: HTTPClientError.cancelled) {
            try client.stream(HTTPRequest(method: .GET, target: "/"), cancellation: cancellation) { _ in true }
        }
    }

    @Test func connectionCapMakesCallersWaitThenFail() async throws {
        let server = try ScriptedServer { connection in
            guard let request = connection.readRequest() else { return }
            if request.hasPrefix("GET /v1/events") {
                connection.write(Self.chunkedHead + Self.chunk("hello\n"))
                connection.waitForClose()
            } else {
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            }
        }
        defer { server.stop() }
        let client = HTTPClientTests.client(server) {
            $0.maxConnections = 1
            $0.connectionWaitTimeout = .milliseconds(200)
            $0.idleReadTimeout = .seconds(30)
        }
        let streaming = Atomic<Bool>(false)
        let task = Task {
            try await client.stream(HTTPRequest(method: .GET, target: "/v1/events")) { _ in
                streaming.store(true, ordering: .relaxed)
                return true
            }
        }
        #expect(await Self.eventually { streaming.load(ordering: .relaxed) })
        await #expect(throws: HTTPClientError.tooManyConnections(limit: 1)) { try await client.send(.GET, "/") }
        task.cancel()
        _ = await task.result
        #expect(try await client.send(.GET, "/").status == 200)
        #expect(client.pool.counts.open == 1)
    }

    @Test func manyLongStreamsRunAtOnce() async throws {
        let server = try Self.streaming(["ready\n"])
        defer { server.stop() }
        let client = HTTPClientTests.client(server) { $0.idleReadTimeout = .seconds(30) }
        let started = Counter()
        let count = 24  // Far more than the cores here: no stream may wait for another to end.
        await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await client.stream(HTTPRequest(method: .GET, target: "/v1/events")) { _ in
                        started.increment()
                        return true
                    }
                }
            }
            // Generous: with every other in-process suite running, threads can be slow to come.
            #expect(await Self.eventually(seconds: 25) { started.value == count })
            group.cancelAll()
            while let result = await group.nextResult() {
                #expect(throws: HTTPClientError.cancelled) { try result.get() }
            }
        }
    }

    @Test func waiterGetsTheReleasedConnection() async throws {
        let server = try ScriptedServer { connection in
            while connection.readRequest() != nil {
                Thread.sleep(forTimeInterval: 0.05)
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            }
        }
        defer { server.stop() }
        let client = HTTPClientTests.client(server) {
            $0.maxConnections = 1
            $0.connectionWaitTimeout = .seconds(3)
        }
        async let first = client.send(.GET, "/1")
        async let second = client.send(.GET, "/2")
        async let third = client.send(.GET, "/3")
        let statuses = try await [first.status, second.status, third.status]
        #expect(statuses == [200, 200, 200])
        #expect(server.acceptCount == 1)
    }

    /// True when a Docker Engine answers `GET /_ping` on the standard socket.
    static let dockerAnswers: Bool = {
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = .seconds(1)
        let client = HTTPClient(endpoint: .unix(path: "/var/run/docker.sock"), configuration: configuration)
        return (try? client.send(.GET, "/_ping", timeout: .seconds(2)))?.status == 200
    }()

    @Test(.enabled(if: dockerAnswers, "no Docker Engine answers GET /_ping on /var/run/docker.sock; CI wires one in later"))
    func realDockerVersion() throws {
        let client = try HTTPClient(url: "unix:///var/run/docker.sock")
        let response = try client.send(.GET, "/version")
        #expect(response.status == 200)
        #expect(String(decoding: response.bodyBytes, as: UTF8.self).contains("\"ApiVersion\""))
    }
}

/// A thread-safe count that closures can share.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
