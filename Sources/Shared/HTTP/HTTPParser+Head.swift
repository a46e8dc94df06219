#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Head, chunk-size and trailer parsing: everything that works on CRLF-terminated lines.
extension HTTPParser {
    /// How the body of the message whose head was just parsed is delimited.
    enum Framing { case none, length(Int), chunked, untilClose }

    /// What the header fields say about framing, gathered while they are parsed.
    struct FieldFacts {
        var contentLength: Int?
        var hasTransferEncoding = false
        var lastCodingIsChunked = false
        var codingCount = 0
        var hostCount = 0
    }

    mutating func parseHead() throws(HTTPParseError) -> Event? {
        while true {
            if mode == .request { try rejectEarlyGarbage() }
            guard let end = try scanBlock(limit: limits.maxHeaderBytes) else { return nil }
            let start = readIndex
            readIndex = end
            resetScan()
            // RFC 9112 §2.2: a server ignores empty lines before the request line (some clients
            // send a CRLF after a POST body).
            if end - start == 2 && mode == .request { continue }
            let (event, framing) = try buffer.withUnsafeBufferPointer { (p) throws(HTTPParseError) in
                try parseHeadBlock(p, start: start, end: end - 2)
            }
            try enterBody(framing)
            return event
        }
    }

    /// Rejects a request whose first bytes cannot start a method, so garbage gets its 400 at once
    /// instead of after the header timeout. Only a fixed-size prefix is examined, which keeps the
    /// check cheap when bytes trickle in and independent of how they were split.
    private func rejectEarlyGarbage() throws(HTTPParseError) {
        let end = min(buffer.count, readIndex + min(32, limits.maxHeaderBytes))
        var i = readIndex
        while i < end {
            let c = buffer[i]
            if c == .space || c == .cr || c == .lf { return }
            guard Self.isTokenByte(c) else { throw .malformed("invalid method") }
            i += 1
        }
    }

    mutating func parseTrailers() throws(HTTPParseError) -> Event? {
        guard let end = try scanBlock(limit: limits.maxHeaderBytes) else { return nil }
        let start = readIndex
        readIndex = end
        resetScan()
        var facts = FieldFacts()
        _ = try buffer.withUnsafeBufferPointer { (p) throws(HTTPParseError) in
            // Trailers are validated like header fields, then dropped: Fuller uses none.
            try Self.parseFields(p, from: start, to: end - 2, facts: &facts)
        }
        state = .head
        bodyBytesSeen = 0
        return .end
    }

    mutating func parseChunkSize() throws(HTTPParseError) -> Event? {
        guard let lineEnd = try scanLine(limit: 4096) else { return nil }
        let size = try buffer.withUnsafeBufferPointer { (p) throws(HTTPParseError) in
            try Self.chunkSize(p, from: readIndex, crlf: lineEnd - 2)
        }
        readIndex = lineEnd
        resetScan()
        if size == 0 {
            state = .trailers
            return try parseTrailers()
        }
        guard size <= limits.maxBodyBytes - bodyBytesSeen else { throw .bodyTooLarge }
        bodyBytesSeen += size
        state = .chunkData(remaining: size)
        return try step()
    }

    private mutating func enterBody(_ framing: Framing) throws(HTTPParseError) {
        switch framing {
        case .none: state = .end
        case .length(let n):
            guard n <= limits.maxBodyBytes else { throw .bodyTooLarge }
            state = n == 0 ? .end : .fixedBody(remaining: n)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
    }

    /// Scans for the blank line that ends a block of lines starting at `readIndex`; returns the
    /// index just past it. Resumes where the previous call stopped.
    private mutating func scanBlock(limit: Int) throws(HTTPParseError) -> Int? {
        if scanIndex < readIndex { resetScan() }
        let count = buffer.count
        var i = scanIndex, line = lineStart, bareLF = false, found: Int?
        buffer.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            while i < count {
                guard let hit = memchr(base + i, Int32(UInt8.lf), count - i) else { i = count; return }
                let lf = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                if lf == line || base[lf - 1] != .cr { i = lf; bareLF = true; return }
                i = lf + 1
                if lf == line + 1 { found = i; return }
                line = i
            }
        }
        scanIndex = i
        lineStart = line
        // Past the limit every outcome is 431, so the answer does not depend on how bytes arrived.
        if let end = found {
            guard end - readIndex <= limit else { throw .headerTooLarge }
            return end
        }
        if bareLF {
            guard i - readIndex <= limit else { throw .headerTooLarge }
            throw .malformed("line not terminated by CRLF")
        }
        guard count - readIndex <= limit else { throw .headerTooLarge }
        if inputFinished && count > readIndex { throw .truncated }
        return nil
    }

    /// Scans for the end of one CRLF-terminated line starting at `readIndex`.
    private mutating func scanLine(limit: Int) throws(HTTPParseError) -> Int? {
        if scanIndex < readIndex { resetScan() }
        let count = buffer.count
        let from = scanIndex
        let hit: Int? = buffer.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress, from < count,
                  let h = memchr(base + from, Int32(UInt8.lf), count - from) else { return nil }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(h))
        }
        guard let lf = hit else {
            scanIndex = count
            guard count - readIndex <= limit else { throw .malformed("chunk size line too long") }
            return try needMoreIndex()
        }
        guard lf - readIndex < limit else { throw .malformed("chunk size line too long") }
        guard lf > readIndex, buffer[lf - 1] == .cr else { throw .malformed("line not terminated by CRLF") }
        return lf + 1
    }

    private func needMoreIndex() throws(HTTPParseError) -> Int? {
        if inputFinished { throw .truncated }
        return nil
    }

    /// Parses the start line and fields in `p[start..<end]` (the final blank line excluded).
    private mutating func parseHeadBlock(_ p: UnsafeBufferPointer<UInt8>, start: Int, end: Int)
        throws(HTTPParseError) -> (Event, Framing) {
        let firstCR = try Self.lineEnd(p, from: start)
        var facts = FieldFacts()
        let headers = try Self.parseFields(p, from: firstCR + 2, to: end, facts: &facts)
        switch mode {
        case .request:
            let line = try Self.requestLine(p, from: start, to: firstCR)
            try Self.checkHost(facts, versionMinor: line.minor)
            let head = RequestHead(method: line.method, target: line.target, versionMinor: line.minor, headers: headers)
            return (.requestHead(head), try Self.requestFraming(facts, versionMinor: line.minor))
        case .response:
            let line = try Self.statusLine(p, from: start, to: firstCR)
            let head = ResponseHead(status: line.status, reason: line.reason, versionMinor: line.minor, headers: headers)
            var method = HTTPMethod.GET
            if line.status >= 200 {
                if !expectedMethods.isEmpty { method = expectedMethods.removeFirst() }
            }
            return (.responseHead(head), try Self.responseFraming(facts, status: line.status, method: method))
        }
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`; no request has two (which one
    /// a proxy routed on and which one Fuller would read could differ).
    static func checkHost(_ facts: FieldFacts, versionMinor: Int) throws(HTTPParseError) {
        if facts.hostCount > 1 { throw .malformed("more than one Host header") }
        if facts.hostCount == 0 && versionMinor >= 1 { throw .malformed("an HTTP/1.1 request needs a Host header") }
    }

    static func requestFraming(_ facts: FieldFacts, versionMinor: Int) throws(HTTPParseError) -> Framing {
        if facts.hasTransferEncoding {
            // Both headers together is the classic smuggling vector: refuse rather than pick one.
            guard facts.contentLength == nil else { throw .malformed("both Content-Length and Transfer-Encoding") }
            guard versionMinor >= 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard facts.lastCodingIsChunked else { throw .malformed("final transfer coding is not chunked") }
            guard facts.codingCount == 1 else { throw .unsupportedTransferEncoding }
            return .chunked
        }
        if let length = facts.contentLength { return .length(length) }
        return .none
    }

    static func responseFraming(_ facts: FieldFacts, status: Int, method: HTTPMethod) throws(HTTPParseError) -> Framing {
        if method == .HEAD || status < 200 || status == 204 || status == 304 { return .none }
        if facts.hasTransferEncoding {
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length in a response.
            guard facts.lastCodingIsChunked && facts.codingCount == 1 else { throw .unsupportedTransferEncoding }
            return .chunked
        }
        if let length = facts.contentLength { return .length(length) }
        return .untilClose
    }
}
