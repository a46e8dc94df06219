/// An HTTP/1.1 client for one endpoint (a TCP host and port, or a Unix-domain socket such as
/// Docker's), with a bounded pool of keep-alive connections and an explicit bound on every wait.
///
/// Two ways to call it:
/// - blocking (`send`, `stream`): for the CLI and for code on its own threads. Never call these from
///   Swift concurrency's cooperative pool; use the `async` versions there.
/// - `async` (in `HTTPClient+Async.swift`): the same calls run on the client's I/O threads; task
///   cancellation closes the socket and the call throws `.cancelled`.
///
/// Timeouts: `connectTimeout` bounds each connect; a request's total deadline (`requestTimeout` or
/// the `timeout:` argument) bounds everything from waiting for a connection to the last body byte;
/// `idleReadTimeout` bounds the gap between bytes of a response. Streams have no total deadline by
/// default, only the idle bound (which long-lived streams such as Docker's `/events` should raise).
///
/// Reuse and retries: a connection goes back to the pool after a complete response unless the
/// server said `Connection: close` or the body ran to end-of-file. A pooled connection the server
/// has closed is noticed before use and replaced. If the server closes it while the request is
/// being sent (a race no check can rule out), the request is retried once on a fresh connection,
/// and only when that is safe: the method is idempotent, or not one byte of it was sent.
public final class HTTPClient: Sendable {
    /// Limits and timeouts; every field has a default.
    public struct Configuration: Sendable {
        public var connectTimeout: Duration = .seconds(5)
        /// The total deadline of `send` when the call gives none.
        public var requestTimeout: Duration = .seconds(30)
        /// The longest wait for the next byte of a response.
        public var idleReadTimeout: Duration = .seconds(15)
        /// Open connections (busy plus idle) at most; further callers wait.
        public var maxConnections = 32
        /// How long a caller waits for a connection when all `maxConnections` are busy.
        public var connectionWaitTimeout: Duration = .seconds(5)
        /// Callers allowed to wait for a connection at once; beyond that they fail at once.
        public var maxWaitingRequests = 256
        public var maxIdleConnections = 8
        /// Idle connections older than this are closed; below the server's own keep-alive timeout
        /// (60 s in Fuller) so the client, not the server, usually ends an idle connection.
        public var idleConnectionTimeout: Duration = .seconds(30)
        public var maxResponseHeaderBytes = 64 * 1024
        /// The largest body `send` buffers; larger ones fail with `.responseTooLarge`.
        public var maxResponseBodyBytes = 64 * 1024 * 1024
        /// The longest line `stream` delivers; longer ones fail with `.lineTooLong`.
        public var maxLineBytes = 1024 * 1024
        /// Sent as `User-Agent` unless the request has one; nil sends none.
        public var userAgent: String? = "fuller"

        public init() {}
    }

    /// How a `stream` call ended without error.
    public enum StreamEnd: Sendable, Equatable {
        /// The server ended the body.
        case completed
        /// `onHead` or `onLine` returned false; the connection was closed.
        case stopped
    }

    public let endpoint: HTTPEndpoint
    public let configuration: Configuration
    let pool: HTTPConnectionPool

    public init(endpoint: HTTPEndpoint, configuration: Configuration = Configuration()) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.pool = HTTPConnectionPool(limits: .init(
            maxConnections: configuration.maxConnections,
            maxIdleConnections: configuration.maxIdleConnections,
            idleTimeout: configuration.idleConnectionTimeout,
            waitTimeout: configuration.connectionWaitTimeout,
            maxWaiters: configuration.maxWaitingRequests))
    }

    /// A client for `http://HOST:PORT` or `unix:///PATH` (see `HTTPEndpoint(url:)`).
    public convenience init(url: String, configuration: Configuration = Configuration()) throws(HTTPClientError) {
        self.init(endpoint: try HTTPEndpoint(url: url), configuration: configuration)
    }

    deinit { pool.shutdown() }

    /// Sends `request` and buffers the whole response (at most `maxResponseBodyBytes`). Blocking.
    ///
    /// `timeout` is the total deadline (default `requestTimeout`). Any status is a response, not an
    /// error: a 404 or 503 comes back as an `HTTPResponse`.
    public func send(_ request: HTTPRequest, timeout: Duration? = nil,
                     cancellation: Cancellation? = nil) throws(HTTPClientError) -> HTTPResponse {
        var sink = BufferingSink(maxBodyBytes: configuration.maxResponseBodyBytes)
        let deadline = ContinuousClock.now + (timeout ?? configuration.requestTimeout)
        _ = try perform(request, deadline: deadline, idleTimeout: configuration.idleReadTimeout,
                        maxBodyBytes: configuration.maxResponseBodyBytes, cancellation: cancellation, sink: &sink)
        return HTTPResponse(status: sink.status, headers: sink.headers, body: sink.body)
    }

    /// `send` for a method and target, with optional headers and body.
    public func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     body: [UInt8] = [], timeout: Duration? = nil,
                     cancellation: Cancellation? = nil) throws(HTTPClientError) -> HTTPResponse {
        try send(HTTPRequest(method: method, target: target, headers: headers, body: body),
                 timeout: timeout, cancellation: cancellation)
    }

    /// Sends `request` and delivers the response body line by line as it arrives. Blocking.
    ///
    /// `onHead` sees the status and headers first (any status) and may return false to stop there;
    /// `onLine` gets each line without its newline (the slice is only valid during the call) and
    /// returns false to stop. Stopping closes the connection. `timeout` is a total deadline (none by
    /// default); `idleTimeout` (default `idleReadTimeout`) is the longest silence allowed.
    @discardableResult
    public func stream(_ request: HTTPRequest, timeout: Duration? = nil, idleTimeout: Duration? = nil,
                       cancellation: Cancellation? = nil,
                       onHead: (HTTPResponse) -> Bool = { _ in true },
                       onLine: (ArraySlice<UInt8>) -> Bool) throws(HTTPClientError) -> StreamEnd {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let idle = idleTimeout ?? configuration.idleReadTimeout
        // The sink holds the closures only for the duration of this call.
        let result = withoutActuallyEscaping(onHead) { onHead in
            withoutActuallyEscaping(onLine) { onLine in
                var sink = LineSink(splitter: HTTPLineSplitter(maxLineBytes: configuration.maxLineBytes),
                                    onHead: onHead, onLine: onLine)
                return Result { () throws(HTTPClientError) in
                    try perform(request, deadline: deadline, idleTimeout: idle, maxBodyBytes: Int.max,
                                cancellation: cancellation, sink: &sink)
                }
            }
        }
        return try result.get() ? .completed : .stopped
    }

    /// Closes idle connections; later calls fail with `.shutDown`. Calls in flight finish normally
    /// and close their connection instead of pooling it.
    public func shutdown() { pool.shutdown() }
}
