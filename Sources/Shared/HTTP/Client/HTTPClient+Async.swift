import Dispatch

/// The `async` face of `HTTPClient`, for callers in Swift concurrency.
///
/// The blocking calls run on `HTTPClient.ioQueue`, never on the cooperative pool, and resume the
/// caller when done. Task cancellation cancels the call: its socket is shut down, so a call blocked
/// in `poll()` wakes at once and throws `.cancelled`.
///
/// Threads: `ioQueue` is a private concurrent queue, and Dispatch adds a thread when all of its
/// threads are blocked, so one long stream never holds up another call. The number of threads is
/// bounded by the calls in flight, which `maxConnections` plus `maxWaitingRequests` bound per client.
extension HTTPClient {
    static let ioQueue = DispatchQueue(label: "fuller.http-client.io", attributes: .concurrent)

    /// `send(_:timeout:cancellation:)` without blocking the caller's thread.
    public func send(_ request: HTTPRequest, timeout: Duration? = nil) async throws(HTTPClientError) -> HTTPResponse {
        try await runBlocking { cancellation throws(HTTPClientError) in
            try self.send(request, timeout: timeout, cancellation: cancellation)
        }
    }

    /// `send(_:_:headers:body:timeout:cancellation:)` without blocking the caller's thread.
    public func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     body: [UInt8] = [], timeout: Duration? = nil) async throws(HTTPClientError) -> HTTPResponse {
        try await send(HTTPRequest(method: method, target: target, headers: headers, body: body), timeout: timeout)
    }

    /// `stream` without blocking the caller's thread. `onHead` and `onLine` run on an I/O thread,
    /// one call at a time and in order; they should hand work off rather than block.
    @discardableResult
    public func stream(_ request: HTTPRequest, timeout: Duration? = nil, idleTimeout: Duration? = nil,
                       onHead: @escaping @Sendable (HTTPResponse) -> Bool = { _ in true },
                       onLine: @escaping @Sendable (ArraySlice<UInt8>) -> Bool) async throws(HTTPClientError) -> StreamEnd {
        try await runBlocking { cancellation throws(HTTPClientError) in
            try self.stream(request, timeout: timeout, idleTimeout: idleTimeout, cancellation: cancellation,
                            onHead: onHead, onLine: onLine)
        }
    }

    /// Runs `work` on `ioQueue` and waits for it without blocking; cancelling the task cancels it.
    private func runBlocking<T: Sendable>(
        _ work: @escaping @Sendable (Cancellation) throws(HTTPClientError) -> T
    ) async throws(HTTPClientError) -> T {
        let cancellation = Cancellation()
        let result: Result<T, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                HTTPClient.ioQueue.async {
                    continuation.resume(returning: Result { () throws(HTTPClientError) in try work(cancellation) })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }
}
