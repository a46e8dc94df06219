import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A connected, non-blocking stream socket whose every wait is a `poll()` bounded by a deadline.
///
/// Ownership: one thread at a time does I/O (the one holding the connection); any thread may call
/// `shutdown()` to wake it, which is how cancellation works. `shutdown()` and `close()` serialise on
/// a mutex so a shutdown never reaches a descriptor number that was closed and handed out again.
///
/// SIGPIPE: every write uses `MSG_NOSIGNAL`, so a peer that closed early yields `EPIPE`, never a
/// signal; the process needs no global `signal(SIGPIPE, SIG_IGN)` for the client's sake.
final class ClientSocket: Sendable {
    let fd: Int32
    private let isClosed = Mutex(false)

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Connects to `endpoint`, trying each resolved address in turn until `deadline`.
    ///
    /// Name resolution uses the blocking `getaddrinfo`, bounded by the resolver's own timeouts
    /// (`/etc/resolv.conf`) rather than `deadline`; Fuller's addresses are literals or `/etc/hosts`
    /// names in practice, which resolve without the network.
    /// A `cancellation` shuts the connecting socket down, so the connect fails at once.
    static func connect(to endpoint: HTTPEndpoint, deadline: ContinuousClock.Instant,
                        cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> ClientSocket {
        defer { cancellation?.clearHandler() }
        switch endpoint {
        case .tcp(let host, let port): return try connectTCP(host: host, port: port, deadline: deadline, cancellation: cancellation)
        case .unix(let path): return try connectUnix(path: path, deadline: deadline, cancellation: cancellation)
        }
    }

    private static func connectTCP(host: String, port: Int, deadline: ContinuousClock.Instant,
                                   cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> ClientSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .resolveFailed(host: host, message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastError = HTTPClientError.connectFailed(errno: EHOSTUNREACH, message: "no address for \(host)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            do {
                let socket = try open(family: info.pointee.ai_family, cancellation: cancellation)
                try socket.finishConnect(Glibc.connect(socket.fd, info.pointee.ai_addr, info.pointee.ai_addrlen),
                                         deadline: deadline)
                var one: Int32 = 1
                _ = setsockopt(socket.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return socket
            } catch .timedOut(let phase) {
                throw .timedOut(phase)  // The deadline covers all addresses: none is left for the next.
            } catch .cancelled {
                throw .cancelled
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private static func connectUnix(path: String, deadline: ContinuousClock.Instant,
                                    cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> ClientSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw .connectFailed(errno: ENAMETOOLONG, message: "socket path longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let socket = try open(family: AF_UNIX, cancellation: cancellation)
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            // A Unix socket whose listen backlog is full answers EAGAIN at once instead of blocking;
            // there is nothing to poll for, so retry briefly until the deadline.
            if result != 0 && errno == EAGAIN {
                guard ContinuousClock.now < deadline else { throw .timedOut(.connect) }
                if cancellation?.isCancelled == true { throw .cancelled }
                usleep(5_000)
                continue
            }
            try socket.finishConnect(result, deadline: deadline)
            return socket
        }
    }

    private static func open(family: Int32, cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> ClientSocket {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, flags, 0)
        guard fd >= 0 else { throw .connectFailed(errno: errno, message: HTTPClientError.message(errno: errno)) }
        let socket = ClientSocket(fd: fd)
        try cancellation?.setHandler { socket.shutdown() }
        return socket
    }

    /// Completes a non-blocking `connect()` that returned `result`.
    private func finishConnect(_ result: Int32, deadline: ContinuousClock.Instant) throws(HTTPClientError) {
        if result == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else {
            throw .connectFailed(errno: code, message: HTTPClientError.message(errno: code))
        }
        try wait(for: Int16(POLLOUT), deadline: deadline, idleTimeout: nil, timeoutPhase: .connect)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { throw .connectFailed(errno: error, message: HTTPClientError.message(errno: error)) }
    }

    /// Writes all of `bytes`; `sent` counts what the kernel accepted, even when this throws, so the
    /// caller knows whether a retry could repeat a request the server may have seen.
    func sendAll(_ bytes: [UInt8], deadline: ContinuousClock.Instant?, sent: inout Int) throws(HTTPClientError) {
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 { sent += count; continue }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try wait(for: Int16(POLLOUT), deadline: deadline, idleTimeout: nil, timeoutPhase: .send)
            case EPIPE, ECONNRESET: throw .connectionClosed
            case let code: throw .ioFailed(errno: code, message: HTTPClientError.message(errno: code))
            }
        }
    }

    /// Reads what is available into `buffer`, waiting at most `idleTimeout` for the first byte and
    /// never past `deadline`. Returns 0 when the peer closed its side.
    func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?,
                 idleTimeout: Duration?) throws(HTTPClientError) -> Int {
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try wait(for: Int16(POLLIN), deadline: deadline, idleTimeout: idleTimeout, timeoutPhase: .idleRead)
            case ECONNRESET: throw .connectionClosed
            case let code: throw .ioFailed(errno: code, message: HTTPClientError.message(errno: code))
            }
        }
    }

    /// True when an idle connection is still usable: nothing to read, no hang-up. A server that
    /// closed it while it sat in the pool shows up here as readable (EOF) or hung up.
    func isIdleAndOpen() -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, 0)
        return ready == 0
    }

    /// Polls for `events` until `deadline` or, when given, `idleTimeout` from now, whichever is first.
    /// Hang-ups and errors return normally: the following `recv` or `send` reports them precisely.
    private func wait(for events: Int16, deadline: ContinuousClock.Instant?, idleTimeout: Duration?,
                      timeoutPhase: HTTPClientError.Phase) throws(HTTPClientError) {
        let start = ContinuousClock.now
        var limit = deadline
        var phase = HTTPClientError.Phase.requestDeadline
        if timeoutPhase != .idleRead { phase = timeoutPhase }
        if let idle = idleTimeout, limit == nil || start + idle < limit! {
            limit = start + idle
            phase = timeoutPhase
        }
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, ClientSocket.milliseconds(until: limit))
            if ready > 0 { return }
            if ready == 0 {
                // poll() may wake a millisecond early; only a passed limit is a timeout.
                if let limit, ContinuousClock.now >= limit { throw .timedOut(phase) }
                continue
            }
            if errno != EINTR { throw .ioFailed(errno: errno, message: HTTPClientError.message(errno: errno)) }
        }
    }

    /// A `poll()` timeout for `limit`: -1 for none, else the milliseconds left, rounded up.
    static func milliseconds(until limit: ContinuousClock.Instant?) -> Int32 {
        guard let limit else { return -1 }
        let left = limit - ContinuousClock.now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: total)
    }

    /// Wakes any thread blocked on this socket; its next `recv`/`send` sees end-of-file or `EPIPE`.
    func shutdown() {
        isClosed.withLock { closed in
            if !closed { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func close() {
        isClosed.withLock { closed in
            if !closed { closed = true; _ = Glibc.close(fd) }
        }
    }
}
