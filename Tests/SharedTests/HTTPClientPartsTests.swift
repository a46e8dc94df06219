import Testing
@testable import Shared

/// The client's pure parts: URLs, request serialisation, line splitting.
@Suite struct HTTPClientPartsTests {
    @Test(arguments: [
        ("http://127.0.0.1:4700", HTTPEndpoint.tcp(host: "127.0.0.1", port: 4700)),
        ("http://master-1:4700/v1/jobs", .tcp(host: "master-1", port: 4700)),
        ("http://[::1]:4710", .tcp(host: "::1", port: 4710)),
        ("http://example", .tcp(host: "example", port: 80)),
        ("unix:///var/run/docker.sock", .unix(path: "/var/run/docker.sock")),
    ])
    func parsesURLs(url: String, endpoint: HTTPEndpoint) throws {
        #expect(try HTTPEndpoint(url: url) == endpoint)
    }

    @Test(arguments: ["https://x:1", "http://:80", "http://h:0", "http://h:99999", "http://[::1", "unix://rel", "4700"])
    func rejectsURLs(url: String) {
        #expect(throws: HTTPClientError.invalidURL(url)) { try HTTPEndpoint(url: url) }
    }

    @Test func hostHeader() {
        #expect(HTTPEndpoint.tcp(host: "::1", port: 4700).hostHeader == "[::1]:4700")
        #expect(HTTPEndpoint.tcp(host: "m1", port: 80).hostHeader == "m1")
    }

    @Test func serialisesHeadAndBody() throws {
        var request = HTTPRequest(method: .PUT, target: "/v1/jobs/j1/capacity", headers: ["Content-Length": "999"],
                                  body: Array("{}".utf8))
        request.headers.add("X-Trace", "t1")
        let bytes = try HTTPRequestSerializer.serialize(request, host: "m1:4700", userAgent: "fuller")
        #expect(String(decoding: bytes, as: UTF8.self) ==
            "PUT /v1/jobs/j1/capacity HTTP/1.1\r\nX-Trace: t1\r\nHost: m1:4700\r\nUser-Agent: fuller\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func emptyPostCarriesContentLengthZero() throws {
        let bytes = try HTTPRequestSerializer.serialize(HTTPRequest(method: .POST, target: "/x"), host: "h", userAgent: nil)
        #expect(String(decoding: bytes, as: UTF8.self) == "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    }

    @Test(arguments: [
        HTTPRequest(method: .GET, target: "/a b"),
        HTTPRequest(method: .GET, target: "no-slash"),
        HTTPRequest(method: HTTPMethod("GE T"), target: "/"),
        HTTPRequest(method: .GET, target: "/", headers: ["X-Evil": "a\r\nInjected: 1"]),
        HTTPRequest(method: .GET, target: "/", headers: ["Bad Name": "v"]),
        HTTPRequest(method: .POST, target: "/", headers: ["Transfer-Encoding": "chunked"]),
    ])
    func refusesUnsafeRequests(request: HTTPRequest) {
        #expect(throws: (any Error).self) { try HTTPRequestSerializer.serialize(request, host: "h", userAgent: nil) }
    }

    @Test func splitterIsIndependentOfPieceBoundaries() throws {
        let text = Array("alpha\r\nbeta\n\n\ngamma\ndelta".utf8)
        for size in 1...text.count {
            var splitter = HTTPLineSplitter(maxLineBytes: 64)
            var lines: [String] = []
            let collect = { (line: ArraySlice<UInt8>) -> Bool in lines.append(String(decoding: line, as: UTF8.self)); return true }
            var start = 0
            while start < text.count {
                let end = min(start + size, text.count)
                _ = try splitter.feed(Array(text[start..<end]), emit: collect)
                start = end
            }
            _ = try splitter.finish(emit: collect)
            #expect(lines == ["alpha", "beta", "gamma", "delta"], "piece size \(size)")
        }
    }

    @Test func splitterBoundsAPartialLine() {
        var splitter = HTTPLineSplitter(maxLineBytes: 4)
        #expect(throws: HTTPClientError.lineTooLong(limitBytes: 4)) {
            _ = try splitter.feed(Array("abcdef".utf8)) { _ in true }
        }
    }

    @Test func errorsReadWell() {
        #expect(HTTPClientError.timedOut(.idleRead).description == "timed out waiting for response bytes")
        #expect(HTTPClientError.connectFailed(errno: 111, message: "Connection refused").description
            == "connect failed: Connection refused (errno 111)")
    }
}
