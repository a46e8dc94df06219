/// What the client does with a response as it is parsed: buffer it (`send`) or cut it into lines
/// (`stream`).
protocol ResponseSink {
    /// Returns false to stop reading; the connection is then closed.
    mutating func head(_ head: HTTPParser.ResponseHead) throws(HTTPClientError) -> Bool
    /// Returns false to stop reading; the connection is then closed.
    mutating func body(_ bytes: [UInt8]) throws(HTTPClientError) -> Bool
    mutating func end() throws(HTTPClientError)
}

/// Reads one response from a socket into a sink with Fuller's one HTTP parser, bounding every wait
/// by the request's deadline and idle timeout.
struct ResponseReader {
    let socket: ClientSocket
    let method: HTTPMethod
    let deadline: ContinuousClock.Instant?
    let idleTimeout: Duration
    let limits: HTTPParser.Limits
    /// Whether any response byte arrived; a failure before that may be a stale keep-alive connection.
    private(set) var receivedAny = false
    private var parser: HTTPParser
    private var atEndOfInput = false

    init(socket: ClientSocket, method: HTTPMethod, deadline: ContinuousClock.Instant?, idleTimeout: Duration,
         limits: HTTPParser.Limits) {
        self.socket = socket
        self.method = method
        self.deadline = deadline
        self.idleTimeout = idleTimeout
        self.limits = limits
        self.parser = HTTPParser(mode: .response, limits: limits)
    }

    /// Reads until the response ends or the sink stops it. `reusable` is true only when the
    /// message ended by its own framing, the server allowed keep-alive and nothing extra arrived.
    mutating func run(sink: inout some ResponseSink) throws(HTTPClientError) -> (completed: Bool, reusable: Bool) {
        parser.expectResponse(to: method)
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        var keepAlive = false
        var interim = false
        while true {
            while let event = try nextEvent() {
                switch event {
                case .responseHead(let head) where head.status < 200:
                    interim = true  // 100 Continue and the like: skip it and its empty body.
                case .responseHead(let head):
                    keepAlive = ResponseReader.allowsKeepAlive(head)
                    guard try sink.head(head) else { return (false, false) }
                case .body(let piece):
                    guard try sink.body(piece) else { return (false, false) }
                case .end where interim:
                    interim = false
                case .end:
                    try sink.end()
                    return (true, keepAlive && !atEndOfInput && !parser.hasBufferedBytes)
                case .requestHead:
                    throw .invalidResponse(.malformed("a request where a response was expected"))
                }
            }
            guard !atEndOfInput else { throw .connectionClosed }
            try read(into: &buffer)
        }
    }

    private mutating func read(into buffer: inout [UInt8]) throws(HTTPClientError) {
        let (socket, deadline, idleTimeout) = (self.socket, self.deadline, self.idleTimeout)
        let result = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(HTTPClientError) in try socket.receive(into: raw, deadline: deadline, idleTimeout: idleTimeout) }
        }
        let count = try result.get()
        if count == 0 {
            atEndOfInput = true
            do { try parser.finishInput() } catch { throw clientError(error) }
        } else {
            receivedAny = true
            buffer.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    private mutating func nextEvent() throws(HTTPClientError) -> HTTPParser.Event? {
        do { return try parser.next() } catch { throw clientError(error) }
    }

    private func clientError(_ error: HTTPParseError) -> HTTPClientError {
        switch error {
        case .truncated: .connectionClosed
        case .bodyTooLarge: .responseTooLarge(limitBytes: limits.maxBodyBytes)
        default: .invalidResponse(error)
        }
    }

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes unless told `keep-alive`.
    static func allowsKeepAlive(_ head: HTTPParser.ResponseHead) -> Bool {
        var tokens: [String] = []
        for value in head.headers.values("Connection") {
            for token in value.split(separator: ",") {
                let trimmed = token.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }
                tokens.append(String(trimmed.reversed()).lowercased())
            }
        }
        if tokens.contains("close") { return false }
        return head.versionMinor >= 1 || tokens.contains("keep-alive")
    }
}

/// Buffers a whole response for `send`, up to `maxBodyBytes`.
struct BufferingSink: ResponseSink {
    let maxBodyBytes: Int
    var status = 0
    var headers = HTTPHeaders()
    var body: [UInt8] = []

    mutating func head(_ head: HTTPParser.ResponseHead) -> Bool {
        status = head.status
        headers = head.headers
        return true
    }

    mutating func body(_ bytes: [UInt8]) throws(HTTPClientError) -> Bool {
        // The parser bounds a body too, but only once it knows the framing; this bounds it always.
        guard body.count + bytes.count <= maxBodyBytes else { throw .responseTooLarge(limitBytes: maxBodyBytes) }
        body.append(contentsOf: bytes)
        return true
    }

    mutating func end() {}
}

/// Cuts a streamed body into lines for `stream`.
struct LineSink: ResponseSink {
    var splitter: HTTPLineSplitter
    let onHead: (HTTPResponse) -> Bool
    let onLine: (ArraySlice<UInt8>) -> Bool

    mutating func head(_ head: HTTPParser.ResponseHead) -> Bool {
        onHead(HTTPResponse(status: head.status, headers: head.headers))
    }

    mutating func body(_ bytes: [UInt8]) throws(HTTPClientError) -> Bool {
        try splitter.feed(bytes, emit: onLine)
    }

    /// A last line without a newline is still a line. Whether `onLine` wants more no longer
    /// matters: the body is complete either way.
    mutating func end() throws(HTTPClientError) {
        _ = try splitter.finish(emit: onLine)
    }
}
