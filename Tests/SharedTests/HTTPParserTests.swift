import Testing
@testable import Shared

/// One parser input and the transcript it must produce (see `HTTPParseTranscript`).
struct ParserCase: CustomTestStringConvertible, Sendable {
    var input: String
    var expected: String
    var mode: HTTPParser.Mode = .request
    var finish = false
    var methods: [HTTPMethod] = []
    var testDescription: String { String(input.prefix(60)).debugDescription }

    var bytes: [UInt8] { Array(input.utf8) }
    var limits: HTTPParser.Limits { .init(maxHeaderBytes: 256, maxBodyBytes: 64) }

    func run(splits: [Int] = []) -> HTTPParseTranscript {
        .run(bytes, mode: mode, limits: limits, splits: splits, finish: finish, methods: methods)
    }
}

let validRequests: [ParserCase] = [
    .init(input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", expected: "GET / 1.1 {Host: a} | end"),
    .init(input: "GET / HTTP/1.0\r\n\r\n", expected: "GET / 1.0 | end"),
    .init(input: "\r\n\r\nGET /x?y=1 HTTP/1.0\r\n\r\n", expected: "GET /x?y=1 1.0 | end"),
    .init(input: "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
          expected: "POST /p 1.1 {Host: h, Content-Length: 5} | body(hello) | end"),
    .init(input: "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\nhello",
          expected: "POST /p 1.1 {Host: h, Content-Length: 5, 5, content-length: 5} | body(hello) | end"),
    .init(input: "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n",
          expected: "POST /c 1.1 {Host: h, Transfer-Encoding: chunked} | body(hello0123456789) | end"),
    .init(input: "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
          expected: "GET /1 1.1 {Host: h} | end | POST /2 1.1 {Host: h, Content-Length: 2} | body(ok) | end | GET /3 1.1 {Host: h} | end"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX-A:   padded  \t\r\nX-Empty:\r\n\r\n", expected: "GET / 1.1 {Host: h, X-A: padded, X-Empty: } | end"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX-Obs: caf\u{e9}\r\n\r\n", expected: "GET / 1.1 {Host: h, X-Obs: caf\u{e9}} | end"),
    .init(input: "GET / HTTP/1.9\r\nHost: h\r\n\r\n", expected: "GET / 1.1 {Host: h} | end"),
    .init(input: "PURGE /cache HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", expected: "PURGE /cache 1.1 {Host: h, Content-Length: 0} | end"),
]

let malformedRequests: [ParserCase] = [
    .init(input: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\nHost: a\n\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: a\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nab", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", expected: "unsupportedTransferEncoding"),
    .init(input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | body(ab) | malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2;\u{1}\r\n", expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | malformed"),
    .init(input: "G(T / HTTP/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/2.0\r\n\r\n", expected: "unsupportedVersion"),
    .init(input: "GET / HTTX/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1 \r\n\r\n", expected: "malformed"),
    .init(input: "GET /a b HTTP/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET /\u{0} HTTP/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET /\r\n\r\n", expected: "malformed"),
    .init(input: "GET  / HTTP/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1}b\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", expected: "malformed"),
    // Request smuggling: each of these must be refused, never read one way or another.
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nX: a\rZContent-Length: 5\r\n\r\nhello", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\rContent-Length: 5\r\nHost: h\r\n\r\nhello", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX\t: a\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX\u{0}: a\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n Content-Length: 0\r\n\r\nhello", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\nhello", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", expected: "malformed"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", expected: "unsupportedTransferEncoding"),
    .init(input: "GET / HTTP/1.1\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", expected: "malformed"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\n\r\n\u{1}", expected: "GET / 1.1 {Host: h} | end | malformed"),
]

let oversized: [ParserCase] = [
    .init(input: "GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n\r\n", expected: "headerTooLarge"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 300), expected: "headerTooLarge"),
    .init(input: "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 300) + "\n", expected: "headerTooLarge"),
    // The Content-Length check happens before any body byte arrives.
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n", expected: "bodyTooLarge"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + String(repeating: "b", count: 64) + "\r\n1\r\n",
          expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | body(" + String(repeating: "b", count: 64) + ") | bodyTooLarge"),
    .init(input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + String(repeating: "t", count: 300),
          expected: "POST / 1.1 {Host: h, Transfer-Encoding: chunked} | headerTooLarge"),
    .init(input: "HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "r", count: 65), expected: "200 OK 1.1 | body(" + String(repeating: "r", count: 64) + ") | bodyTooLarge", mode: .response),
]

let responses: [ParserCase] = [
    .init(input: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", expected: "200 OK 1.1 {Content-Length: 2} | body(hi) | end", mode: .response),
    .init(input: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
          expected: "200 OK 1.1 {Content-Length: 2} | end | 204 No Content 1.1 | end", mode: .response, methods: [.HEAD, .GET]),
    .init(input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
          expected: "100 Continue 1.1 | end | 304 Not Modified 1.1 {Content-Length: 9} | end", mode: .response),
    .init(input: "HTTP/1.0 200\r\n\r\nuntil close", expected: "200  1.0 | body(until close) | end", mode: .response, finish: true),
    .init(input: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", expected: "200 OK 1.1 {Content-Length: 9} | body(short) | truncated",
          mode: .response, finish: true),
    .init(input: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
          expected: "200 OK 1.1 {Content-Length: 9, Transfer-Encoding: chunked} | body(abc) | end", mode: .response),
    .init(input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", expected: "unsupportedTransferEncoding", mode: .response),
    .init(input: "HTTP/1.1 2x0 OK\r\n\r\n", expected: "malformed", mode: .response),
    .init(input: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", expected: "truncated", mode: .response, finish: true),
]

@Suite struct HTTPParserTests {
    @Test(arguments: validRequests + malformedRequests + oversized + responses)
    func producesExpectedTranscript(_ c: ParserCase) {
        #expect(c.run().description == c.expected)
    }

    /// The events must not depend on how the bytes were split across reads.
    @Test(arguments: validRequests + malformedRequests + oversized + responses)
    func everySplitProducesTheSameTranscript(_ c: ParserCase) {
        let whole = c.run()
        for cut in 0...c.bytes.count {
            let split = c.run(splits: [cut])
            #expect(split == whole, "split at \(cut): \(split)")
            if split != whole { return }
        }
        let byteByByte = c.run(splits: Array(0...c.bytes.count))
        #expect(byteByByte == whole)
    }

    @Test func surfacesKeepAliveAndContinue() throws {
        var parser = HTTPParser(mode: .request)
        parser.append(Array("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n".utf8))
        var heads: [HTTPParser.RequestHead] = []
        while let event = try parser.next() { if case .requestHead(let h) = event { heads.append(h) } }
        #expect(heads.count == 1 && heads[0].expectsContinue && heads[0].keepAlive)
        #expect(!parser.hasBufferedBytes)
        parser.append(Array("xGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\nGET / HTTP/1.0\r\n\r\n".utf8))
        while let event = try parser.next() { if case .requestHead(let h) = event { heads.append(h) } }
        #expect(heads.map(\.keepAlive) == [true, true, false, false])
        #expect(!heads[1].expectsContinue && !parser.hasBufferedBytes)
    }

    /// The reasons matter as much as the refusal: each smuggling vector is refused for its own
    /// reason, not by accident of another check.
    @Test(arguments: [
        ("POST / HTTP/1.1\r\nHost: h\r\nX: a\rZContent-Length: 5\r\n\r\nhello", "bare CR in a header line"),
        ("GET / HTTP/1.1\rX: y\r\nHost: h\r\n\r\n", "bare CR in a header line"),
        ("GET / HTTP/1.1\r\nX: 1\r\n\r\n", "an HTTP/1.1 request needs a Host header"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "more than one Host header"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\tContent-Length: 2\r\n\r\n", "obsolete header line folding"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 1\r\n\r\n", "invalid header field name"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length values"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", "Content-Length is not a number"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", "final transfer coding is not chunked"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: \u{0}\r\n\r\n", "invalid byte in header field value"),
    ])
    func smugglingVectorsAreRefusedForTheirOwnReason(_ input: String, _ reason: String) {
        var parser = HTTPParser(mode: .request)
        parser.append(Array(input.utf8))
        #expect(throws: HTTPParseError.malformed(reason)) { try parser.next() }
    }

    @Test func failedParserStaysFailed() {
        var parser = HTTPParser(mode: .request)
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.malformed("invalid header field name")) { try parser.next() }
    }

    @Test func largeHeadArrivingByteByByteIsScannedOnce() throws {
        var parser = HTTPParser(mode: .request)
        let head = Array(("GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 700) + "\r\n").utf8)
        var scanned = 0
        for byte in head {
            parser.append([byte])
            let before = parser.scanIndex
            _ = try parser.next()
            scanned += max(0, parser.scanIndex - before)
        }
        #expect(scanned <= head.count)
    }

    @Test func errorStatuses() {
        #expect(HTTPParseError.headerTooLarge.status == 431)
        #expect(HTTPParseError.bodyTooLarge.status == 413)
        #expect(HTTPParseError.malformed("x").status == 400)
        #expect(HTTPParseError.unsupportedVersion.status == 505)
        #expect(HTTPParseError.unsupportedTransferEncoding.status == 501)
    }
}
