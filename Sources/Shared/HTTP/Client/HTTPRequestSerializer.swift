/// Writes an `HTTPRequest` as HTTP/1.1 bytes for the client, refusing anything that could split or
/// smuggle a message (CR, LF or NUL in a header, spaces in the target).
enum HTTPRequestSerializer {
    /// The request head and body in one buffer, so a small request is one `send()`.
    ///
    /// `Host` is added unless the caller set one; `Content-Length` is always computed here (a
    /// caller-supplied one is replaced) and sent for any body, and for an empty POST, PUT or PATCH
    /// because servers may demand it (411). Request bodies are never chunked.
    static func serialize(_ request: HTTPRequest, host: String, userAgent: String?) throws(HTTPClientError) -> [UInt8] {
        try validate(request)
        var headers = request.headers
        if headers["Host"] == nil { headers.add("Host", host) }
        if let userAgent, headers["User-Agent"] == nil { headers.add("User-Agent", userAgent) }
        headers.remove("Content-Length")
        let method = request.method
        if !request.body.isEmpty || method == .POST || method == .PUT || method == .PATCH {
            headers.add("Content-Length", String(request.body.count))
        }
        var head = "\(method.rawValue) \(request.target) HTTP/1.1\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: request.body)
        return bytes
    }

    private static func validate(_ request: HTTPRequest) throws(HTTPClientError) {
        guard !request.method.rawValue.isEmpty, request.method.rawValue.utf8.allSatisfy(isTokenByte) else {
            throw .invalidRequest("method '\(request.method)' is not an HTTP token")
        }
        guard request.target.hasPrefix("/") || request.target == "*",
              request.target.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw .invalidRequest("target '\(request.target)' must start with '/' and contain no spaces or controls")
        }
        for field in request.headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(isTokenByte) else {
                throw .invalidRequest("header name '\(field.name)' is not an HTTP token")
            }
            guard field.value.utf8.allSatisfy({ $0 != 0x0D && $0 != 0x0A && $0 != 0x00 }) else {
                throw .invalidRequest("header '\(field.name)' has CR, LF or NUL in its value")
            }
            if field.name.caseInsensitiveEquals("Transfer-Encoding") {
                throw .invalidRequest("request bodies are sent with Content-Length, not Transfer-Encoding")
            }
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
