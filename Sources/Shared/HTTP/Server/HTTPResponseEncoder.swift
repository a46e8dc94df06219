/// Writes a response head into a byte buffer in one pass, without intermediate strings.
enum HTTPResponseEncoder {
    /// 1xx, 204 and 304 answers never carry a body (RFC 9110 §6.4.1).
    static func allowsBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    /// Appends the status line and headers. `contentLength` nil means a streamed body: chunked for
    /// HTTP/1.1, delimited by closing for HTTP/1.0. The handler's own framing headers
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) are replaced by the server's, and a
    /// field containing CR, LF or NUL is dropped rather than allowed to split the response.
    static func appendHead(_ out: inout [UInt8], _ response: HTTPResponse, contentLength: Int?, close: Bool,
                           versionMinor: Int) {
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(&out, response.status)
        out.append(.space)
        out.append(contentsOf: HTTPStatus.reason(response.status).utf8)
        out.append(contentsOf: crlf)
        for field in response.headers where isSafe(field.name, field.value) {
            if field.name.caseInsensitiveEquals("Content-Length") || field.name.caseInsensitiveEquals("Transfer-Encoding")
                || field.name.caseInsensitiveEquals("Connection") { continue }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: crlf)
        }
        if response.status >= 200 && response.status != 204 {
            if let length = contentLength {
                if response.status != 304 {
                    out.append(contentsOf: "Content-Length: ".utf8)
                    appendDecimal(&out, length)
                    out.append(contentsOf: crlf)
                }
            } else if versionMinor >= 1 && allowsBody(response.status) {
                out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
            }
        }
        if close {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if versionMinor == 0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: crlf)
    }

    static let crlf: [UInt8] = [.cr, .lf]

    static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        precondition(value >= 0)
        if value < 10 { return out.append(UInt8(ascii: "0") + UInt8(value)) }
        let start = out.count
        var v = value
        while v > 0 {
            out.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        }
        out[start...].reverse()
    }

    static func appendHex(_ out: inout [UInt8], _ value: Int) {
        let digits = Array("0123456789abcdef".utf8)
        let start = out.count
        var v = value
        repeat {
            out.append(digits[v & 15])
            v >>= 4
        } while v > 0
        out[start...].reverse()
    }

    private static func isSafe(_ name: String, _ value: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(HTTPParser.isTokenByte)
            && !value.utf8.contains { $0 == .cr || $0 == .lf || $0 == 0 }
    }
}
