/// One request and its response on one connection, and the retry around it.
extension HTTPClient {
    /// A failed exchange, and whether repeating it on a fresh connection is safe.
    struct ExchangeFailure: Error {
        let error: HTTPClientError
        let mayRetry: Bool
    }

    /// Sends `request` and feeds the response to `sink`. Returns false when the sink stopped early.
    func perform(_ request: HTTPRequest, deadline: ContinuousClock.Instant?, idleTimeout: Duration,
                 maxBodyBytes: Int, cancellation: Cancellation?,
                 sink: inout some ResponseSink) throws(HTTPClientError) -> Bool {
        let bytes = try HTTPRequestSerializer.serialize(request, host: endpoint.hostHeader,
                                                        userAgent: configuration.userAgent)
        var retried = false
        while true {
            if cancellation?.isCancelled == true { throw .cancelled }
            let (connection, reused) = try checkout(deadline: deadline, cancellation: cancellation)
            do throws(ExchangeFailure) {
                let outcome = try exchange(bytes, method: request.method, on: connection, deadline: deadline,
                                           idleTimeout: idleTimeout, maxBodyBytes: maxBodyBytes,
                                           cancellation: cancellation, sink: &sink)
                pool.release(connection, reusable: outcome.reusable)
                return outcome.completed
            } catch {
                pool.release(connection, reusable: false)
                if cancellation?.isCancelled == true { throw .cancelled }
                // Only a pooled connection can have been closed by the server unseen; a fresh one
                // failing the same way means the server is refusing the request, so do not repeat.
                guard reused && !retried && error.mayRetry else { throw error.error }
                retried = true
            }
        }
    }

    /// A usable connection: a pooled one that is still open, or a new one.
    private func checkout(deadline: ContinuousClock.Instant?,
                          cancellation: Cancellation?) throws(HTTPClientError) -> (PooledConnection, reused: Bool) {
        if case .idle(let connection) = try pool.acquire(deadline: deadline, cancellation: cancellation) {
            if connection.socket.isIdleAndOpen() { return (connection, true) }
            connection.socket.close()  // Closed or spoken to while idle; its slot serves a new one.
        }
        var connectDeadline = ContinuousClock.now + configuration.connectTimeout
        if let deadline, deadline < connectDeadline { connectDeadline = deadline }
        do throws(HTTPClientError) {
            let socket = try ClientSocket.connect(to: endpoint, deadline: connectDeadline, cancellation: cancellation)
            return (PooledConnection(socket: socket, idleSince: .now), false)
        } catch {
            pool.releaseSlot()
            throw cancellation?.isCancelled == true ? .cancelled : error
        }
    }

    private func exchange(_ bytes: [UInt8], method: HTTPMethod, on connection: PooledConnection,
                          deadline: ContinuousClock.Instant?, idleTimeout: Duration, maxBodyBytes: Int,
                          cancellation: Cancellation?,
                          sink: inout some ResponseSink) throws(ExchangeFailure) -> (completed: Bool, reusable: Bool) {
        let socket = connection.socket
        do throws(HTTPClientError) {
            try cancellation?.setHandler { socket.shutdown() }
        } catch {
            throw ExchangeFailure(error: error, mayRetry: false)
        }
        defer { cancellation?.clearHandler() }
        var sent = 0
        do throws(HTTPClientError) {
            try socket.sendAll(bytes, deadline: deadline, sent: &sent)
        } catch {
            throw ExchangeFailure(error: error, mayRetry: error == .connectionClosed && (sent == 0 || method.isIdempotent))
        }
        var reader = ResponseReader(socket: socket, method: method, deadline: deadline, idleTimeout: idleTimeout,
                                    limits: .init(maxHeaderBytes: configuration.maxResponseHeaderBytes,
                                                  maxBodyBytes: maxBodyBytes))
        do throws(HTTPClientError) {
            return try reader.run(sink: &sink)
        } catch {
            // Nothing of a response arrived: the server closed a connection it had kept idle.
            let unanswered = error == .connectionClosed && !reader.receivedAny
            throw ExchangeFailure(error: error, mayRetry: unanswered && method.isIdempotent)
        }
    }
}

extension HTTPMethod {
    /// RFC 9110 §9.2.2: repeating the request has the same effect as sending it once.
    var isIdempotent: Bool {
        self == .GET || self == .HEAD || self == .PUT || self == .DELETE || self == .OPTIONS || self == HTTPMethod("TRACE")
    }
}
