import Foundation
import Synchronization
import Testing
@testable import Shared

/// Live tests: a real server on port 0, raw sockets, every wait bounded by the client's timeout.
@Suite struct HTTPServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer(handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            for i in 0..<3 {
                try client.send("GET /n/\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "GET /n/\(i) ")
                #expect(response.headers["Content-Length"] == "\(response.body.count)")
                #expect(response.headers["Connection"] == nil)
            }
            try client.send("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody")
            #expect(try client.readResponse().text == "POST /p body")
        }
    }

    @Test func pipelinedAnswersKeepRequestOrderEvenWhenALaterOneIsFaster() async throws {
        let handler = ClosureHandler { request, respond in
            let response = HTTPResponse(status: 200, body: Array(request.path.utf8))
            if request.path == "/slow" {
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.15) { respond(response) }
            } else {
                respond(response)
            }
        }
        try await withServer(handler: handler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\nPOST /third HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
            #expect(try client.readResponse().text == "/slow")
            #expect(try client.readResponse().text == "/fast")
            #expect(try client.readResponse().text == "/third")
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 2048) + "\r\n\r\n", 431, "header_too_large"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4097\r\n\r\n", 413, "payload_too_large"),
        ("\u{1}\u{2}garbage\r\n\r\n", 400, "invalid_argument"),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n", 400, "invalid_argument"),
        ("GET / HTTP/3.0\r\n\r\n", 505, "version_not_supported"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not_implemented"),
    ])
    func badRequestsGetTheirStatusInTheEnvelopeAndAClose(_ input: String, _ status: Int, _ code: String) async throws {
        try await withServer({ $0.maxHeaderBytes = 1024; $0.maxBodyBytes = 4096 }, handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send(input)
            let response = try client.readResponse()
            #expect(response.status == status)
            #expect(response.headers["Connection"] == "close")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.text.hasPrefix(#"{"error":{"code":"\#(code)","message":"#))
            #expect(client.isClosedByServer())
        }
    }

    @Test func headerReadTimeoutAnswers408AndCloses() async throws {
        try await withServer({ $0.headerReadTimeout = .milliseconds(200) }, handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET / HTTP/1.1\r\nHost: slo")
            let started = ContinuousClock.now
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(client.isClosedByServer())
            // A connection that never sends a byte is timed out the same way.
            let silent = try RawHTTPClient(port: server.port)
            #expect(try silent.readResponse().status == 408)
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withServer({ $0.idleTimeout = .milliseconds(200) }, handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let started = ContinuousClock.now
            #expect(client.isClosedByServer())
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(server.openConnections == 0)
        }
    }

    @Test func slowClientSendingByteByByteIsServed() async throws {
        try await withServer(handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.trickle("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            #expect(try client.readResponse().text == "POST /slow abc")
        }
    }

    @Test func halfClosedClientStillGetsItsAnswers() async throws {
        try await withServer(handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            client.shutdownWrite()
            #expect(try client.readResponse().text == "GET /a ")
            #expect(try client.readResponse().text == "GET /b ")
            #expect(client.isClosedByServer())
        }
    }

    @Test func headAndConnectionCloseAndHTTP10() async throws {
        try await withServer(handler: echoHandler) { server in
            let head = try RawHTTPClient(port: server.port)
            try head.send("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            let h = try head.readResponse(to: .HEAD)
            #expect(h.status == 200 && h.body.isEmpty && h.headers["Content-Length"] == "8")
            let g = try head.readResponse()
            #expect(g.text == "GET /g " && g.headers["Connection"] == "close")
            #expect(head.isClosedByServer())

            let old = try RawHTTPClient(port: server.port)
            try old.send("GET /old HTTP/1.0\r\n\r\n")
            #expect(try old.readResponse().text == "GET /old ")
            #expect(old.isClosedByServer())
        }
    }

    @Test func expectContinueGetsA100BeforeTheBody() async throws {
        try await withServer(handler: echoHandler) { server in
            let client = try RawHTTPClient(port: server.port)
            try client.send("PUT /c HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            #expect(try client.readResponse().status == 100)
            try client.send("ok")
            #expect(try client.readResponse().text == "PUT /c ok")
        }
    }
}
