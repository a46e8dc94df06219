/// The HTTP/1.1 vocabulary shared by Fuller's server, client and router.
///
/// Bodies are byte arrays: every body Fuller handles is bounded (see `HTTPServer.Configuration`),
/// so buffering is simpler and faster than streaming; the one exception, a streamed response
/// (`HTTPResponse.Body.stream`), is bounded by its own writer.

/// A request method. A struct rather than an enum so unknown methods parse and get a 405, not a 400.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let GET = HTTPMethod("GET")
    public static let HEAD = HTTPMethod("HEAD")
    public static let POST = HTTPMethod("POST")
    public static let PUT = HTTPMethod("PUT")
    public static let DELETE = HTTPMethod("DELETE")
    public static let PATCH = HTTPMethod("PATCH")
    public static let OPTIONS = HTTPMethod("OPTIONS")
}

/// Header fields in arrival order; names compare case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, Equatable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first value of `name`, if any.
    public subscript(name: String) -> String? {
        for field in fields where field.name.caseInsensitiveEquals(name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every value of `name` with one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) { fields.removeAll { $0.name.caseInsensitiveEquals(name) } }

    public var count: Int { fields.count }
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

extension String {
    /// ASCII case-insensitive equality, which is what HTTP field names need (no locale involved).
    @inlinable
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        var a = utf8.makeIterator(), b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                let lx = (x >= 65 && x <= 90) ? x | 0x20 : x
                let ly = (y >= 65 && y <= 90) ? y | 0x20 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }
}

/// A parsed request. `path` is the percent-decoded path; `query` the decoded query items in order.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as sent (origin form, e.g. `/v1/jobs?limit=10`).
    public var target: String
    public var path: String
    public var query: [(name: String, value: String)]
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The address of the peer, e.g. `127.0.0.1:53211`, or nil when unknown (tests).
    public var remoteAddress: String?

    public init(method: HTTPMethod, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], remoteAddress: String? = nil) {
        self.method = method
        self.target = target
        let (path, query) = HTTPRequest.splitTarget(target)
        self.path = path
        self.query = query
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first query value named `name`.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// Splits an origin-form target into its decoded path and query items.
    public static func splitTarget(_ target: String) -> (path: String, query: [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (percentDecode(target) ?? target, []) }
        let rawPath = String(target[..<mark])
        let rawQuery = target[target.index(after: mark)...]
        var items: [(name: String, value: String)] = []
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]), plusIsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (percentDecode(String(parts[1]), plusIsSpace: true) ?? String(parts[1])) : ""
            items.append((name: name, value: value))
        }
        return (percentDecode(rawPath) ?? rawPath, items)
    }

    /// Decodes `%XX` escapes; nil when an escape is malformed or the result is not UTF-8.
    public static func percentDecode(_ s: String, plusIsSpace: Bool = false) -> String? {
        if !s.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                out.append(hv << 4 | lv)
            } else if plusIsSpace && c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A response to send (server) or one received (client).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body: Sendable {
        case bytes([UInt8])
        /// A chunked body produced over time; the server calls `start` once with a writer.
        case stream(HTTPStreamSource)
    }

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), stream: HTTPStreamSource) {
        self.status = status
        self.headers = headers
        self.body = .stream(stream)
    }

    /// The body bytes of a buffered response (empty for a stream).
    public var bodyBytes: [UInt8] {
        if case .bytes(let b) = body { return b }
        return []
    }
}

/// Produces a streamed (chunked) response body. The server calls `start(writer)` once, on its own
/// thread; the source then calls `writer.write` as data arrives and `writer.finish()` at the end.
public struct HTTPStreamSource: Sendable {
    public let start: @Sendable (any HTTPStreamWriter) -> Void
    public init(start: @escaping @Sendable (any HTTPStreamWriter) -> Void) { self.start = start }
}

/// The server side of a streamed response. Implemented by the server.
public protocol HTTPStreamWriter: Sendable {
    /// Queues one chunk. Returns false once the client is gone or the connection's bounded
    /// output buffer is full (the server then closes the connection): the source must stop.
    @discardableResult func write(_ bytes: [UInt8]) -> Bool
    /// Ends the body (sends the last chunk).
    func finish()
    /// Called by the server when the stream is over: the connection closed, the stream was cut, or
    /// the finished body was handed to the connection. `handler` runs once; registered after
    /// that point, it runs at once.
    func onClose(_ handler: @escaping @Sendable () -> Void)
}

/// The standard reason phrases Fuller sends.
public enum HTTPStatus {
    public static func reason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }
}
