import Foundation
import Synchronization
import Testing
@testable import Shared

/// The client against scripted loopback servers: each test says exactly which bytes the server
/// sends. Every wait is bounded by the client's timeouts or the server's 5 s read timeout.
@Suite struct HTTPClientTests {
    static func client(_ server: ScriptedServer, _ adjust: (inout HTTPClient.Configuration) -> Void = { _ in }) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = .seconds(2)
        configuration.requestTimeout = .seconds(5)
        configuration.idleReadTimeout = .seconds(3)
        adjust(&configuration)
        let endpoint = server.unixPath.map { HTTPEndpoint.unix(path: $0) } ?? .tcp(host: "127.0.0.1", port: server.port)
        return HTTPClient(endpoint: endpoint, configuration: configuration)
    }

    /// Answers every request on every connection with `response`.
    static func answering(_ response: String, unixPath: String? = nil) throws -> ScriptedServer {
        try ScriptedServer(unixPath: unixPath) { connection in
            while connection.readRequest() != nil { connection.write(response) }
        }
    }

    static func temporarySocketPath() -> String {
        "/tmp/fuller-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    @Test func contentLengthResponseAndRequestHead() throws {
        let server = try Self.answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\nhello")
        defer { server.stop() }
        let client = Self.client(server)
        let response = try client.send(.GET, "/v1/jobs?limit=2", headers: ["Accept": "application/json"])
        #expect(response.status == 200)
        #expect(response.headers["x-id"] == "7")
        #expect(response.bodyBytes == Array("hello".utf8))
        let request = try #require(server.requests.first)
        #expect(request.hasPrefix("GET /v1/jobs?limit=2 HTTP/1.1\r\n"))
        #expect(request.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n"))
        #expect(request.contains("\r\nAccept: application/json\r\n"))
        #expect(!request.contains("Content-Length"))
    }

    @Test func postSendsBodyWithContentLength() throws {
        let server = try Self.answering("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        defer { server.stop() }
        let response = try Self.client(server).send(.POST, "/v1/jobs", body: Array(#"{"a":1}"#.utf8))
        #expect(response.status == 201 && response.bodyBytes.isEmpty)
        let request = try #require(server.requests.first)
        #expect(request.contains("\r\nContent-Length: 7\r\n\r\n{\"a\":1}"))
    }

    @Test func chunkedWithExtensionsAndTrailersThenReuse() throws {
        let body = "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n"
        let server = try Self.answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        defer { server.stop() }
        let client = Self.client(server)
        for _ in 0..<2 {
            #expect(try client.send(.GET, "/").bodyBytes == Array("hello world".utf8))
        }
        #expect(server.acceptCount == 1)
    }

    @Test func readUntilCloseBodyIsNotReused() throws {
        let server = try ScriptedServer { connection in
            _ = connection.readRequest()
            connection.write("HTTP/1.1 200 OK\r\n\r\nall of ")
            connection.write("it")
        }
        defer { server.stop() }
        let client = Self.client(server)
        #expect(try client.send(.GET, "/").bodyBytes == Array("all of it".utf8))
        #expect(try client.send(.GET, "/").bodyBytes == Array("all of it".utf8))
        #expect(server.acceptCount == 2)
    }

    @Test(arguments: [
        ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
        ("GET", "HTTP/1.1 204 No Content\r\n\r\n"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"),
        ("GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ])
    func responsesWithoutBodyKeepTheConnection(method: String, response: String) throws {
        let server = try Self.answering(response)
        defer { server.stop() }
        let client = Self.client(server)
        for _ in 0..<2 {
            let reply = try client.send(HTTPMethod(method), "/")
            #expect(reply.bodyBytes.isEmpty && reply.status >= 200)
        }
        #expect(server.acceptCount == 1)
    }

    @Test func connectionCloseHeaderIsHonoured() throws {
        let server = try Self.answering("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
        defer { server.stop() }
        let client = Self.client(server)
        _ = try client.send(.GET, "/")
        _ = try client.send(.GET, "/")
        #expect(server.acceptCount == 2)
    }

    @Test func idleConnectionClosedByServerIsReplaced() throws {
        let server = try ScriptedServer { connection in
            guard connection.readRequest() != nil else { return }
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        defer { server.stop() }
        let client = Self.client(server)
        _ = try client.send(.GET, "/")
        Thread.sleep(forTimeInterval: 0.1)  // Let the server's close reach the pooled socket.
        #expect(try client.send(.GET, "/").status == 200)
        #expect(server.acceptCount == 2)
    }

    /// The first connection answers once, then reads the next request and closes unanswered: what a
    /// server closing an idle connection just as the client reuses it looks like.
    static func closesOnSecondRequest() throws -> ScriptedServer {
        try ScriptedServer { connection in
            var answered = 0
            while connection.readRequest() != nil {
                if connection.index == 0 && answered == 1 { return }
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                answered += 1
            }
        }
    }

    @Test func getIsRetriedOnceWhenReusedConnectionDies() throws {
        let server = try Self.closesOnSecondRequest()
        defer { server.stop() }
        let client = Self.client(server)
        _ = try client.send(.GET, "/")
        #expect(try client.send(.GET, "/again").bodyBytes == Array("ok".utf8))
        #expect(server.acceptCount == 2)
        #expect(server.requests.count == 3)
    }

    @Test func postIsNotRetriedOnceSent() throws {
        let server = try Self.closesOnSecondRequest()
        defer { server.stop() }
        let client = Self.client(server)
        _ = try client.send(.GET, "/")
        #expect(throws: HTTPClientError.connectionClosed) {
            try client.send(.POST, "/v1/jobs", body: Array("{}".utf8))
        }
        #expect(server.acceptCount == 1)
    }

    @Test func connectTimesOutAgainstFullBacklog() throws {
        let path = Self.temporarySocketPath()
        let server = try ScriptedServer(unixPath: path, backlog: 0)
        defer { server.stop() }
        // Fill the backlog with connections nobody accepts; further connects then get EAGAIN.
        var fillers: [HTTPClient] = []
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = .milliseconds(200)
        configuration.idleReadTimeout = .milliseconds(100)
        var sawTimeout = false
        for _ in 0..<4 where !sawTimeout {
            let client = HTTPClient(endpoint: .unix(path: path), configuration: configuration)
            fillers.append(client)
            let start = ContinuousClock.now
            do {
                _ = try client.send(.GET, "/")
            } catch .timedOut(.connect) {
                sawTimeout = true
                #expect(ContinuousClock.now - start < .seconds(2))
            } catch {
                #expect(error == .timedOut(.idleRead))  // A filler got in and nobody answers it.
            }
        }
        #expect(sawTimeout)
    }

    @Test func idleReadTimeout() throws {
        let server = try ScriptedServer { connection in
            _ = connection.readRequest()
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            connection.waitForClose()
        }
        defer { server.stop() }
        let client = Self.client(server) { $0.idleReadTimeout = .milliseconds(200) }
        let start = ContinuousClock.now
        #expect(throws: HTTPClientError.timedOut(.idleRead)) { try client.send(.GET, "/") }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func requestDeadlineCoversATricklingResponse() throws {
        let server = try ScriptedServer { connection in
            _ = connection.readRequest()
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in 0..<100 {
                connection.write("x")
                Thread.sleep(forTimeInterval: 0.03)
            }
        }
        defer { server.stop() }
        let client = Self.client(server) { $0.idleReadTimeout = .seconds(1) }
        #expect(throws: HTTPClientError.timedOut(.requestDeadline)) {
            try client.send(.GET, "/", timeout: .milliseconds(300))
        }
    }

    static func oversized(_ framing: String) -> String {
        switch framing {
        case "content-length": "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + String(repeating: "a", count: 2000)
        case "chunked":
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(repeating: "100\r\n" + String(repeating: "b", count: 256) + "\r\n", count: 8) + "0\r\n\r\n"
        default: "HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "c", count: 2000)
        }
    }

    @Test(arguments: ["content-length", "chunked", "until-close"])
    func oversizedBodyIsRefused(framing: String) throws {
        let server = try Self.answering(Self.oversized(framing))
        defer { server.stop() }
        let client = Self.client(server) { $0.maxResponseBodyBytes = 1000 }
        #expect(throws: HTTPClientError.responseTooLarge(limitBytes: 1000)) { try client.send(.GET, "/") }
    }

    @Test func malformedResponseIsReported() throws {
        let server = try Self.answering("HTTP/1.1 abc\r\n\r\n")
        defer { server.stop() }
        #expect {
            try Self.client(server).send(.GET, "/")
        } throws: { error in
            guard case .invalidResponse = error as? HTTPClientError else { return false }
            return true
        }
    }

    @Test func connectRefusedIsTyped() throws {
        let path = Self.temporarySocketPath()
        let client = HTTPClient(endpoint: .unix(path: path))
        #expect {
            try client.send(.GET, "/")
        } throws: { error in
            guard case .connectFailed(let code, _) = error as? HTTPClientError else { return false }
            return code == ENOENT
        }
    }
}
