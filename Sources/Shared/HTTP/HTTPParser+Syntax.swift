/// The RFC 9110/9112 grammar pieces, as static functions over a byte buffer. Callers guarantee
/// every line in range ends in CRLF (the block scanner checked), so a line ends at its first CR.
extension HTTPParser {
    /// The index of the CR ending the line that starts at `from`. A CR not followed by LF is
    /// refused: reading it as a line end would let `X: a\rContent-Length: 5` smuggle a header that
    /// a proxy keeping (or replacing) the CR never saw.
    static func lineEnd(_ p: UnsafeBufferPointer<UInt8>, from: Int) throws(HTTPParseError) -> Int {
        var i = from
        while p[i] != .cr { i += 1 }
        guard p[i + 1] == .lf else { throw .malformed("bare CR in a header line") }
        return i
    }

    /// Parses header field lines in `p[from..<to]` (each CRLF-terminated).
    static func parseFields(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int, facts: inout FieldFacts)
        throws(HTTPParseError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        var i = from
        while i < to {
            let cr = try lineEnd(p, from: i)
            // Folding (a line starting with whitespace) is obsolete and a smuggling risk.
            guard p[i] != .space && p[i] != .tab else { throw .malformed("obsolete header line folding") }
            var colon = i
            while colon < cr && p[colon] != .colon {
                // A non-token byte, including whitespace before the colon, is refused (RFC 9112 §5.1).
                guard isTokenByte(p[colon]) else { throw .malformed("invalid header field name") }
                colon += 1
            }
            guard colon < cr, colon > i else { throw .malformed("header field without a name or colon") }
            var vs = colon + 1, ve = cr
            while vs < ve && (p[vs] == .space || p[vs] == .tab) { vs += 1 }
            while ve > vs && (p[ve - 1] == .space || p[ve - 1] == .tab) { ve -= 1 }
            for k in vs..<ve where !isFieldByte(p[k]) { throw .malformed("invalid byte in header field value") }
            let name = UnsafeBufferPointer(rebasing: p[i..<colon])
            let value = UnsafeBufferPointer(rebasing: p[vs..<ve])
            try noteFramingField(name: name, value: value, facts: &facts)
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
            i = cr + 2
        }
        return headers
    }

    private static func noteFramingField(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>,
                                         facts: inout FieldFacts) throws(HTTPParseError) {
        if equalsLowercase(name, "content-length") {
            for item in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let n = try parseDecimal(trimmed(item))
                if let previous = facts.contentLength, previous != n {
                    throw .malformed("conflicting Content-Length values")
                }
                facts.contentLength = n
            }
        } else if equalsLowercase(name, "host") {
            facts.hostCount += 1
        } else if equalsLowercase(name, "transfer-encoding") {
            facts.hasTransferEncoding = true
            for item in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
                let coding = trimmed(item)
                if coding.isEmpty { continue }
                facts.codingCount += 1
                facts.lastCodingIsChunked = equalsLowercase(UnsafeBufferPointer(rebasing: coding), "chunked")
            }
        }
    }

    private static func trimmed(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi && (s[lo] == .space || s[lo] == .tab) { lo += 1 }
        while hi > lo && (s[hi - 1] == .space || s[hi - 1] == .tab) { hi -= 1 }
        return s[lo..<hi]
    }

    private static func parseDecimal(_ digits: Slice<UnsafeBufferPointer<UInt8>>) throws(HTTPParseError) -> Int {
        guard !digits.isEmpty else { throw .malformed("empty Content-Length") }
        var n = 0
        for d in digits {
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { throw .malformed("Content-Length is not a number") }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
            guard !o1 && !o2 else { throw .malformed("Content-Length overflows") }
            n = s
        }
        return n
    }

    static func requestLine(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int)
        throws(HTTPParseError) -> (method: HTTPMethod, target: String, minor: Int) {
        var sp1 = from
        while sp1 < to && p[sp1] != .space {
            guard isTokenByte(p[sp1]) else { throw .malformed("invalid method") }
            sp1 += 1
        }
        var sp2 = to - 1
        while sp2 > sp1 && p[sp2] != .space { sp2 -= 1 }
        guard sp1 > from, sp1 < to, sp2 > sp1 + 1 else { throw .malformed("invalid request line") }
        for k in (sp1 + 1)..<sp2 where p[k] <= 0x20 || p[k] >= 0x7F {
            throw .malformed("invalid byte in request target")
        }
        let minor = try version(p, from: sp2 + 1, to: to)
        let method = HTTPMethod(String(decoding: UnsafeBufferPointer(rebasing: p[from..<sp1]), as: UTF8.self))
        let target = String(decoding: UnsafeBufferPointer(rebasing: p[(sp1 + 1)..<sp2]), as: UTF8.self)
        return (method, target, minor)
    }

    static func statusLine(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int)
        throws(HTTPParseError) -> (status: Int, reason: String, minor: Int) {
        guard to - from >= 12, p[from + 8] == .space else { throw .malformed("invalid status line") }
        let minor = try version(p, from: from, to: from + 8)
        var status = 0
        for k in (from + 9)..<(from + 12) {
            guard p[k] >= UInt8(ascii: "0") && p[k] <= UInt8(ascii: "9") else { throw .malformed("invalid status code") }
            status = status * 10 + Int(p[k] - UInt8(ascii: "0"))
        }
        guard status >= 100 else { throw .malformed("invalid status code") }
        var reason = ""
        if to > from + 12 {
            guard p[from + 12] == .space else { throw .malformed("invalid status line") }
            for k in (from + 13)..<to where !isFieldByte(p[k]) { throw .malformed("invalid byte in reason phrase") }
            reason = String(decoding: UnsafeBufferPointer(rebasing: p[(from + 13)..<to]), as: UTF8.self)
        }
        return (status, reason, minor)
    }

    /// Parses `HTTP/1.x`; other majors are a 505, anything else a 400. A minor above 1 is read as 1.
    private static func version(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int) throws(HTTPParseError) -> Int {
        let digit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard to - from == 8, p[from] == UInt8(ascii: "H"), p[from + 1] == UInt8(ascii: "T"),
              p[from + 2] == UInt8(ascii: "T"), p[from + 3] == UInt8(ascii: "P"), p[from + 4] == UInt8(ascii: "/"),
              digit(p[from + 5]), p[from + 6] == UInt8(ascii: "."), digit(p[from + 7]) else {
            throw .malformed("invalid HTTP version")
        }
        guard p[from + 5] == UInt8(ascii: "1") else { throw .unsupportedVersion }
        return p[from + 7] == UInt8(ascii: "0") ? 0 : 1
    }

    /// Parses `chunk-size [BWS ; chunk-ext]` in `p[from..<crlf]`.
    static func chunkSize(_ p: UnsafeBufferPointer<UInt8>, from: Int, crlf: Int) throws(HTTPParseError) -> Int {
        var i = from, size = 0
        while i < crlf, let v = hexValue(p[i]) {
            let (m, o1) = size.multipliedReportingOverflow(by: 16)
            guard !o1 else { throw .malformed("chunk size overflows") }
            size = m | Int(v)
            i += 1
        }
        guard i > from else { throw .malformed("invalid chunk size") }
        while i < crlf && (p[i] == .space || p[i] == .tab) { i += 1 }
        guard i == crlf || p[i] == UInt8(ascii: ";") else { throw .malformed("invalid chunk size") }
        // Extensions are allowed and ignored; only their bytes are checked.
        while i < crlf {
            guard isFieldByte(p[i]) else { throw .malformed("invalid byte in chunk extension") }
            i += 1
        }
        return size
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    /// field-vchar, SP or HTAB; obs-text (0x80–0xFF) is accepted as opaque bytes.
    static func isFieldByte(_ c: UInt8) -> Bool {
        c == .tab || (c >= 0x20 && c != 0x7F)
    }

    /// ASCII case-insensitive comparison against an all-lowercase literal.
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let l = lower.utf8Start
        for k in 0..<bytes.count {
            let c = bytes[k]
            let folded = (c >= 65 && c <= 90) ? c | 0x20 : c
            if folded != l[k] { return false }
        }
        return true
    }
}
