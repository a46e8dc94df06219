import Model

/// Fuller's one error envelope: every 4xx/5xx answer, from the router, the server or a handler,
/// has the body `{"error":{"code":"invalid_argument","message":"…","field":"…"}}`, where `field`
/// names the offending field and is left out when no one field is at fault (the OpenAPI
/// document's `Error`: a string when present, never `null`).
public struct APIError: Error, Sendable, Equatable {
    /// A stable machine-readable error code and the status it maps to.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public let status: Int
        public init(rawValue: String) { self.init(rawValue, status: 500) }
        public init(_ rawValue: String, status: Int) {
            self.rawValue = rawValue
            self.status = status
        }

        public static let invalidArgument = Code("invalid_argument", status: 400)
        public static let unauthenticated = Code("unauthenticated", status: 401)
        public static let permissionDenied = Code("permission_denied", status: 403)
        public static let notFound = Code("not_found", status: 404)
        public static let methodNotAllowed = Code("method_not_allowed", status: 405)
        public static let requestTimeout = Code("request_timeout", status: 408)
        public static let conflict = Code("conflict", status: 409)
        public static let payloadTooLarge = Code("payload_too_large", status: 413)
        public static let headerTooLarge = Code("header_too_large", status: 431)
        public static let internalError = Code("internal", status: 500)
        public static let notImplemented = Code("not_implemented", status: 501)
        public static let unavailable = Code("unavailable", status: 503)
        public static let versionNotSupported = Code("version_not_supported", status: 505)
    }

    public var code: Code
    public var message: String
    /// The offending field of a request body, e.g. `container.resources.memoryMB`.
    public var field: String?
    public var status: Int { code.status }

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// The envelope as a JSON response; extra headers (e.g. `Allow`) are added after `Content-Type`.
    public func response(headers extra: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        for field in extra { headers.add(field.name, field.value) }
        return HTTPResponse(status: status, headers: headers, body: Array(json.utf8))
    }

    public var response: HTTPResponse { response() }

    /// The JSON text of the envelope.
    public var json: String {
        var w = JSONWriter(capacity: 96 + message.utf8.count)
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.field("code", code.rawValue)
        w.field("message", message)
        if let field, !field.isEmpty { w.field("field", field) }
        w.endObject()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

extension APIError {
    /// The answer a server sends for a request it could not parse.
    public init(_ error: HTTPParseError) {
        switch error {
        case .headerTooLarge: self.init(.headerTooLarge, "request header fields are too large")
        case .bodyTooLarge: self.init(.payloadTooLarge, "request body is too large")
        case .malformed(let why): self.init(.invalidArgument, "malformed request: \(why)")
        case .truncated: self.init(.invalidArgument, "malformed request: truncated")
        case .unsupportedVersion: self.init(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported")
        case .unsupportedTransferEncoding: self.init(.notImplemented, "only the chunked transfer coding is supported")
        }
    }
}
