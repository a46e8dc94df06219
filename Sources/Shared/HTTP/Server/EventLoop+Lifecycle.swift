#if canImport(Glibc)
import Glibc

/// Accepting, closing, timers and shutdown.
extension EventLoop {
    /// What a client over `maxConnections` gets when no connection can make room for it (and what
    /// a connection evicted mid-request gets): the server sends a 503 in the envelope with
    /// `Connection: close` (best effort, never blocking), and closes. Answering beats leaving it
    /// in the backlog, where it would wait without a word and pile up.
    static let overCapacityAnswer: [UInt8] = {
        var out: [UInt8] = []
        let response = APIError(.unavailable, "too many connections").response
        HTTPResponseEncoder.appendHead(&out, response, contentLength: response.bodyBytes.count,
                                       close: true, versionMinor: 1)
        return out + response.bodyBytes
    }()

    func acceptConnections() {
        // At the cap, evictions per round are bounded to a quarter of this loop's connections, so
        // a connection just accepted is read (next round, before accepting) before a flood of
        // newcomers can turn the whole population over; the rest wait in the backlog.
        let evictionsMax = max(1, connectionList.count / 4)
        var evictions = 0
        // Bounded, so one loop flooded with connections still serves the ones it has.
        for _ in 0..<64 {
            if evictions >= evictionsMax && server.connectionCount.load(ordering: .relaxed) >= configuration.maxConnections {
                return
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Syscalls.accept4(listener, $0, &length, O_NONBLOCK | O_CLOEXEC)
                }
            }
            if fd < 0 {
                let e = errno
                if e == EINTR || e == ECONNABORTED { continue }
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM { pauseAccepting() }
                return
            }
            if server.connectionCount.add(1, ordering: .relaxed).newValue > configuration.maxConnections {
                guard makeRoom() else {
                    server.connectionCount.subtract(1, ordering: .relaxed)
                    Self.sendOverCapacityAnswer(fd)
                    Glibc.close(fd)
                    continue
                }
                evictions += 1
            }
            Syscalls.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY)
            nextSerial += 1
            let c = HTTPConnection(id: ConnectionID(fd: fd, serial: nextSerial), remoteAddress: Syscalls.describe(storage),
                                   limits: limits, now: now, interest: Syscalls.epollIn)
            connections[fd] = c
            c.listIndex = connectionList.count
            connectionList.append(c)
            _ = Syscalls.epollControl(epfd, Syscalls.ctlAdd, fd, events: Syscalls.epollIn, data: UInt64(fd))
            // A client usually sends its request with the handshake: reading it now saves a
            // round through epoll and, at the cap, makes it busy before the next accept looks
            // for a connection to evict.
            readable(c)
        }
    }

    /// Connections weighed per eviction. Beyond this many a random sample of this size is
    /// weighed instead of all of them: looking at thousands of connections for every accept made
    /// accepting at the cap the bottleneck under a flood of reconnecting drippers, and the
    /// oldest of a sample of 64 is almost surely among the oldest few percent of them all. A
    /// sample without any candidate (most connections busy) falls back to weighing them all.
    static let evictionSampleSize = 64

    /// At the cap: closes the connection `ConnectionPolicy.victim` picks among this loop's (each
    /// loop holds its share, the kernel spreading connections across them). False when all are busy.
    private func makeRoom() -> Bool {
        let count = connectionList.count
        let sample = count <= Self.evictionSampleSize ? connectionList
            : (0..<Self.evictionSampleSize).map { _ in connectionList[Int.random(in: 0..<count)] }
        let weigh = { (list: [HTTPConnection]) in
            ConnectionPolicy.victim(among: list.lazy.map { (id: $0.id, standing: $0.standing) }, protectedFromNanos: self.now)
        }
        let chosen = weigh(sample) ?? (sample.count < count ? weigh(connectionList) : nil)
        guard let id = chosen, let victim = connection(id) else { return false }
        if victim.phase != .idle { Self.sendOverCapacityAnswer(victim.fd) }
        close(victim)
        return true
    }

    private static func sendOverCapacityAnswer(_ fd: Int32) {
        overCapacityAnswer.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }

    /// Out of descriptors: a level-triggered listener would wake us forever, so stop watching it
    /// until the next timer tick.
    private func pauseAccepting() {
        guard !acceptPaused, listener >= 0 else { return }
        acceptPaused = true
        _ = Syscalls.epollControl(epfd, Syscalls.ctlDel, listener, events: 0, data: 0)
    }

    func close(_ c: HTTPConnection) {
        guard connections[c.fd] === c else { return }
        connections.removeValue(forKey: c.fd)
        let last = connectionList.removeLast()
        if last !== c {
            connectionList[c.listIndex] = last
            last.listIndex = c.listIndex
        }
        c.stopReading = true
        // Counted down first, so a client that sees the close also sees the count drop.
        server.connectionCount.subtract(1, ordering: .relaxed)
        Glibc.close(c.fd)
        c.stream?.connectionClosed()
        c.stream = nil
    }

    /// Closes after a final answer. Unread request bytes would make the kernel send a reset that can
    /// destroy the answer still in flight, so a bounded amount is drained first.
    func closeGracefully(_ c: HTTPConnection) {
        shutdown(c.fd, Int32(SHUT_WR))
        for _ in 0..<4 where read(c.fd, readBuffer.baseAddress, readBuffer.count) > 0 {}
        close(c)
    }

    func closeListener() {
        guard listener >= 0 else { return }
        Glibc.close(listener)
        listener = -1
    }

    func beginShutdown(deadline: UInt64) {
        guard drainDeadline == nil else { return }
        drainDeadline = deadline
        closeListener()
        for c in Array(connections.values) {
            if c.isQuiet { close(c); continue }
            c.stopReading = true
            updateInterest(c)
            if c.slots.isEmpty && c.stream == nil { c.closeWhenFlushed = true }
        }
    }

    func checkTimers() {
        nextTimerCheck = now + tickNanos
        if acceptPaused, listener >= 0 {
            acceptPaused = false
            _ = Syscalls.epollControl(epfd, Syscalls.ctlAdd, listener, events: Syscalls.epollIn, data: UInt64(listener))
        }
        let idleTimeout = Self.nanos(configuration.idleTimeout)
        for c in Array(connections.values) {
            if c.hasPendingOutput {
                if now - c.lastWriteProgress > idleTimeout { close(c) }
                continue
            }
            guard isReading(c) else { continue }
            switch c.phase {
            case .head where deadlines.headExpired(sinceNanos: c.phaseSince, nowNanos: now):
                fail(c, APIError(.requestTimeout, "request head not received within \(configuration.headerReadTimeout)"))
            case .body where deadlines.bodyExpired(sinceNanos: c.phaseSince, receivedBytes: c.body.count, nowNanos: now):
                fail(c, APIError(.requestTimeout, "request body arriving slower than \(configuration.bodyMinBytesPerSecond) bytes per second"))
            case .idle where c.isQuiet && now - c.phaseSince > idleTimeout:
                close(c)
            default:
                break
            }
        }
    }

    static func nanos(_ d: Duration) -> UInt64 {
        UInt64(max(0, d.components.seconds)) * 1_000_000_000 + UInt64(max(0, d.components.attoseconds / 1_000_000_000))
    }
}
#endif
