#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fuller's one HTTP/1.1 message parser, used by the server (requests) and the client (responses).
///
/// A pure value: bytes go in with `append`, events come out of `next()`, and nothing here reads a
/// socket or a clock. Each message yields exactly one head event, zero or more `body` pieces (the
/// pieces depend on how the bytes arrived; their concatenation does not) and then `end`.
/// Pipelined messages in one buffer come out one after another.
///
/// Strictness is deliberate (RFC 9112 and request-smuggling defences): lines end in CRLF (a bare
/// CR or LF is rejected), folded headers and whitespace before a colon are rejected, differing
/// `Content-Length` values are rejected, a request with both `Content-Length` and
/// `Transfer-Encoding` is rejected, and a request needs exactly one `Host` (HTTP/1.0 may have none).
///
/// Ordering contract: after `next()` throws, the parser stays failed and throws the same error again.
public struct HTTPParser: Sendable {
    /// Which kind of message the peer sends.
    public enum Mode: Sendable { case request, response }

    /// Size limits; exceeding one is an error whose `status` is the answer to send.
    public struct Limits: Sendable {
        /// The start line plus header fields (and, separately, chunked trailers); 431 beyond it.
        public var maxHeaderBytes: Int
        /// The decoded body; 413 beyond it (checked against `Content-Length` before any body byte).
        public var maxBodyBytes: Int
        public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024) {
            precondition(maxHeaderBytes > 0 && maxBodyBytes >= 0)
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// The status line and header fields of a response.
    public struct ResponseHead: Sendable {
        public var status: Int
        public var reason: String
        /// 0 for HTTP/1.0, 1 for HTTP/1.1.
        public var versionMinor: Int
        public var headers: HTTPHeaders
    }

    /// The request line and header fields of a request.
    public struct RequestHead: Sendable {
        public var method: HTTPMethod
        /// The request target exactly as sent.
        public var target: String
        /// 0 for HTTP/1.0, 1 for HTTP/1.1.
        public var versionMinor: Int
        public var headers: HTTPHeaders
    }

    /// What `next()` found.
    public enum Event: Sendable {
        case requestHead(RequestHead)
        case responseHead(ResponseHead)
        /// A piece of the decoded body (never empty).
        case body([UInt8])
        /// The message is complete.
        case end
    }

    /// Where the parser is within the current message.
    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case end
        case failed(HTTPParseError)
    }

    let mode: Mode
    let limits: Limits
    var state: State = .head
    var buffer: [UInt8] = []
    /// The first byte not yet consumed.
    var readIndex = 0
    /// Where scanning for the end of a line block stopped, so a head arriving byte by byte is
    /// scanned once in total rather than once per byte.
    var scanIndex = 0
    /// The start of the line `scanIndex` is in.
    var lineStart = 0
    var bodyBytesSeen = 0
    var inputFinished = false
    /// Response mode: the methods of the requests awaiting responses, oldest first.
    var expectedMethods: [HTTPMethod] = []

    public init(mode: Mode, limits: Limits = Limits()) {
        self.mode = mode
        self.limits = limits
    }

    /// Response mode: the method of the request the next response answers (HEAD, and 1xx/204/304
    /// statuses, have no body). Call once per request sent, in order; unannounced responses are
    /// parsed as answers to GET.
    public mutating func expectResponse(to method: HTTPMethod) {
        expectedMethods.append(method)
    }

    /// True when bytes are buffered that no event has consumed yet.
    public var hasBufferedBytes: Bool { readIndex < buffer.count }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Response mode: the peer closed; a read-until-close body ends here (else it is a
    /// truncated-message error). The error is thrown here when nothing buffered could complete the
    /// message, and otherwise by `next()` once the buffered bytes run out.
    public mutating func finishInput() throws(HTTPParseError) {
        inputFinished = true
        guard !hasBufferedBytes else { return }
        switch state {
        case .head, .untilClose, .end: return
        case .failed(let error): throw error
        default:
            state = .failed(.truncated)
            throw .truncated
        }
    }

    /// The next event, or nil when more bytes are needed (or input finished between messages).
    public mutating func next() throws(HTTPParseError) -> Event? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    mutating func step() throws(HTTPParseError) -> Event? {
        switch state {
        case .failed(let error): throw error
        case .head: return try parseHead()
        case .end:
            state = .head
            bodyBytesSeen = 0
            return .end
        case .fixedBody(let remaining):
            guard let piece = takeBody(upTo: remaining) else { return try needMore() }
            state = remaining == piece.count ? .end : .fixedBody(remaining: remaining - piece.count)
            return .body(piece)
        case .untilClose:
            let available = buffer.count - readIndex
            if available == 0 {
                if inputFinished { state = .head; return .end }
                return nil
            }
            // Deliver what fits first, so the events do not depend on how the bytes were split.
            let allowed = min(available, limits.maxBodyBytes - bodyBytesSeen)
            guard allowed > 0 else { throw .bodyTooLarge }
            bodyBytesSeen += allowed
            return .body(takeBody(upTo: allowed)!)
        case .chunkSize: return try parseChunkSize()
        case .chunkData(let remaining):
            guard let piece = takeBody(upTo: remaining) else { return try needMore() }
            state = remaining == piece.count ? .chunkDataEnd : .chunkData(remaining: remaining - piece.count)
            return .body(piece)
        case .chunkDataEnd:
            guard buffer.count - readIndex >= 2 else { return try needMore() }
            guard buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf else {
                throw .malformed("chunk data not followed by CRLF")
            }
            readIndex += 2
            resetScan()
            state = .chunkSize
            return try step()
        case .trailers: return try parseTrailers()
        }
    }

    /// Nil when input may still arrive; the truncation error when it cannot.
    private func needMore() throws(HTTPParseError) -> Event? {
        if inputFinished { throw .truncated }
        return nil
    }

    /// Consumes up to `limit` buffered bytes as a body piece; nil when none are buffered.
    private mutating func takeBody(upTo limit: Int) -> [UInt8]? {
        let count = min(limit, buffer.count - readIndex)
        guard count > 0 else { return nil }
        let piece = Array(buffer[readIndex..<(readIndex + count)])
        readIndex += count
        return piece
    }

    /// Drops consumed bytes once they dominate the buffer, so memory stays bounded by what is
    /// unconsumed and the copying cost stays amortised O(1) per byte.
    private mutating func compactIfWorthwhile() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
        } else {
            return
        }
        scanIndex = max(0, scanIndex - readIndex)
        lineStart = max(0, lineStart - readIndex)
        readIndex = 0
    }

    mutating func resetScan() {
        scanIndex = readIndex
        lineStart = readIndex
    }
}

/// Why a message could not be parsed; `status` is the response a server sends before closing.
public enum HTTPParseError: Error, Sendable, Equatable {
    case headerTooLarge
    case bodyTooLarge
    case malformed(String)
    case unsupportedVersion
    case unsupportedTransferEncoding
    /// The input ended in the middle of a message.
    case truncated

    public var status: Int {
        switch self {
        case .headerTooLarge: 431
        case .bodyTooLarge: 413
        case .malformed, .truncated: 400
        case .unsupportedVersion: 505
        case .unsupportedTransferEncoding: 501
        }
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
}

extension HTTPParser.RequestHead {
    /// Whether the connection stays open after this request: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool { headers.keepAlive(versionMinor: versionMinor) }

    /// `Expect: 100-continue`: the client waits for a 100 (or a final answer) before the body.
    public var expectsContinue: Bool {
        guard versionMinor >= 1, let expect = headers["Expect"] else { return false }
        return expect.trimmingASCIIWhitespace().caseInsensitiveEquals("100-continue")
    }
}

extension HTTPParser.ResponseHead {
    /// Whether the connection may carry another request after this response.
    public var keepAlive: Bool { headers.keepAlive(versionMinor: versionMinor) }
}

extension HTTPHeaders {
    /// The persistence rule of RFC 9112 §9.3 applied to these headers.
    func keepAlive(versionMinor: Int) -> Bool {
        var close = false, keepAlive = false
        for field in fields where field.name.caseInsensitiveEquals("Connection") {
            for token in field.value.split(separator: ",") {
                let t = String(token).trimmingASCIIWhitespace()
                if t.caseInsensitiveEquals("close") { close = true }
                if t.caseInsensitiveEquals("keep-alive") { keepAlive = true }
            }
        }
        if close { return false }
        return versionMinor >= 1 || keepAlive
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let u = utf8
        guard let first = u.firstIndex(where: { $0 != .space && $0 != .tab }) else { return "" }
        let last = u.lastIndex(where: { $0 != .space && $0 != .tab })!
        return String(self[first...last])
    }
}
