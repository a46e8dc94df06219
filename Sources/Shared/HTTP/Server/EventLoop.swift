#if canImport(Glibc)
import Glibc

/// One event-loop thread: its listening socket, its connections, its timers. Every member is
/// touched only on that thread; other threads reach it through `EventLoopHandle`.
///
/// Timers: instead of a timer per connection, the loop checks every connection's deadline once
/// per `tick` (a fraction of the shortest timeout), and `epoll_wait` never sleeps past the next
/// check. With at most a few thousand connections per loop the scan costs microseconds.
final class EventLoop {
    let handle: EventLoopHandle
    let server: HTTPServer
    let configuration: HTTPServer.Configuration
    let limits: HTTPParser.Limits
    let deadlines: ConnectionPolicy.ReceiveDeadlines
    let epfd: Int32
    var listener: Int32
    var connections: [Int32: HTTPConnection] = [:]
    /// The same connections in an array (each knows its `listIndex`), for sampling at the cap.
    var connectionList: [HTTPConnection] = []
    var nextSerial: UInt64 = 0
    var now: UInt64
    let tickNanos: UInt64
    var nextTimerCheck: UInt64
    /// Set once shutdown begins: the moment every connection is closed regardless.
    var drainDeadline: UInt64?
    /// Set after `accept` failed for lack of descriptors: accepting resumes at the next tick.
    var acceptPaused = false

    static let readBufferSize = 64 * 1024
    static let maxEvents = 256
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
    let eventBuffer = UnsafeMutableRawPointer.allocate(byteCount: EventLoop.maxEvents * Syscalls.eventStride, alignment: 16)
    var messages: [LoopMessage] = []

    init(handle: EventLoopHandle, server: HTTPServer) {
        self.handle = handle
        self.server = server
        configuration = server.configuration
        limits = HTTPParser.Limits(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes)
        deadlines = .init(headNanos: Self.nanos(configuration.headerReadTimeout),
                          bodyMinBytesPerSecond: configuration.bodyMinBytesPerSecond)
        listener = handle.listener
        epfd = Syscalls.epollCreate1(O_CLOEXEC)
        precondition(epfd >= 0, "epoll_create1 failed: \(errno)")
        now = configuration.clockNanos()
        let shortest = min(configuration.headerReadTimeout, configuration.idleTimeout)
        tickNanos = Self.nanos(min(max(shortest / 8, .milliseconds(5)), .milliseconds(250)))
        nextTimerCheck = now + tickNanos
    }

    deinit {
        readBuffer.deallocate()
        eventBuffer.deallocate()
    }

    func run() {
        handle.bindToCurrentThread()
        _ = Syscalls.epollControl(epfd, Syscalls.ctlAdd, listener, events: Syscalls.epollIn, data: UInt64(listener))
        _ = Syscalls.epollControl(epfd, Syscalls.ctlAdd, handle.wakeFD, events: Syscalls.epollIn, data: UInt64(handle.wakeFD))
        while true {
            let more = drainInbox()
            if let deadline = drainDeadline, connections.isEmpty || now >= deadline { break }
            let count = Syscalls.epollWait(epfd, eventBuffer, Int32(Self.maxEvents), more ? 0 : waitMilliseconds())
            now = configuration.clockNanos()
            // Connections first, new ones after: a request that has arrived is read before an
            // accept at the cap could evict its connection to make room.
            var accepting = false
            for i in 0..<Int(max(count, 0)) {
                let (events, data) = Syscalls.event(at: i, in: eventBuffer)
                let fd = Int32(truncatingIfNeeded: data)
                if fd == listener { accepting = true } else { dispatch(events: events, fd: fd) }
            }
            if accepting, listener >= 0 { acceptConnections() }
            if now >= nextTimerCheck { checkTimers() }
        }
        for connection in Array(connections.values) { close(connection) }
        closeListener()
        Glibc.close(epfd)
        handle.close()
    }

    private func waitMilliseconds() -> Int32 {
        var until = nextTimerCheck
        if let deadline = drainDeadline { until = min(until, deadline) }
        guard until > now else { return 0 }
        return Int32(min((until - now + 999_999) / 1_000_000, 1000))
    }

    private func dispatch(events: UInt32, fd: Int32) {
        if fd == handle.wakeFD {
            var value: UInt64 = 0
            _ = read(fd, &value, 8)
            return
        }
        guard let connection = connections[fd] else { return }
        // HUP (both directions gone, or a reset) and ERR cannot be masked: close at once, or
        // level-triggered epoll would report them forever.
        if events & (Syscalls.epollErr | Syscalls.epollHup) != 0 { return close(connection) }
        if events & Syscalls.epollIn != 0 { readable(connection) }
        if events & Syscalls.epollOut != 0, connections[fd] === connection { writeOutput(connection) }
    }

    /// Runs queued messages; true when messages sent meanwhile from this thread remain.
    private func drainInbox() -> Bool {
        for _ in 0..<8 {
            handle.take(into: &messages)
            if messages.isEmpty { return false }
            for message in messages {
                switch message {
                case .respond(let id, let sequence, let response): deliver(response, to: id, sequence: sequence)
                case .stream(let writer): pumpStream(writer)
                case .shutdown(let deadline): beginShutdown(deadline: deadline)
                }
            }
            messages.removeAll(keepingCapacity: true)
        }
        return true
    }

    func connection(_ id: ConnectionID) -> HTTPConnection? {
        guard let c = connections[id.fd], c.id.serial == id.serial else { return nil }
        return c
    }
}
#endif
