#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// Answers requests. Called on an event-loop thread; a handler that can answer at once calls
/// `respond` before returning (no thread hop). Slow work goes elsewhere and calls `respond` later
/// from any thread. Contract: `respond` is called exactly once per request (later calls are ignored).
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}

/// Fuller's HTTP/1.1 server: epoll, non-blocking sockets, one listening socket and a set of
/// connections per event-loop thread. The connection life cycle is drawn on `HTTPConnection`.
///
/// Ordering contracts: responses on a connection go out in request order, whatever order the
/// handler answers in; `shutdown` returns only after every loop thread has exited and every
/// socket is closed.
public final class HTTPServer: Sendable {
    /// Limits and timeouts; every one is explicit and has a default.
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port; read it back from `HTTPServer.port` after `start()`.
        public var port = 0
        public var eventLoopCount = ProcessInfo.processInfo.activeProcessorCount
        /// Request line plus headers; beyond it the answer is 431 and the connection closes.
        public var maxHeaderBytes = 16 * 1024
        /// Request body; beyond it (judged from `Content-Length` before reading) 413 and close.
        public var maxBodyBytes = 1024 * 1024
        /// From the first byte of a request (or from accept) to its complete head; then 408 and close.
        /// Bytes arriving meanwhile do not extend it (a client dripping a byte every few seconds is
        /// cut here). The body then gets the same span plus `bodyMinBytesPerSecond`'s allowance.
        public var headerReadTimeout: Duration = .seconds(10)
        /// The slowest average pace a request body may arrive at: from the end of the head, the
        /// body has `headerReadTimeout` plus one second per this many bytes received; then 408.
        public var bodyMinBytesPerSecond = 4 * 1024
        /// A keep-alive connection with no request in progress closes silently after this; a client
        /// that stops reading a response is cut after the same span without progress.
        public var idleTimeout: Duration = .seconds(60)
        /// Open connections per server. A connection arriving at the cap is served by closing one
        /// that is still receiving its request (oldest first) or idle (`ConnectionPolicy.victim`);
        /// only when every connection has a request being answered does it get a 503.
        public var maxConnections = 4096
        /// Unsent response bytes per connection. A stream writer over it is cut (the connection
        /// closes); buffered responses over it pause reading further pipelined requests.
        public var maxOutputBufferBytes = 1024 * 1024
        /// Requests read ahead of their responses on one connection.
        public var maxPipelinedRequests = 16
        public var listenBacklog: Int32 = 1024
        /// The time the timers read, in nanoseconds on a monotonic scale. Tests move their own;
        /// a deadline is then noticed at the next timer tick (a fraction of the shortest timeout,
        /// at most 250 ms of real time).
        public var clockNanos: @Sendable () -> UInt64 = { Syscalls.monotonicNanos() }

        public init(host: String = "127.0.0.1", port: Int = 0) {
            self.host = host
            self.port = port
        }
    }

    enum Lifecycle {
        case idle
        case running(loops: [EventLoopHandle], port: Int, liveThreads: Int)
        case stopping(liveThreads: Int)
        case stopped
    }

    public let configuration: Configuration
    let handler: any HTTPHandler
    let lifecycle = Mutex<(state: Lifecycle, waiters: [CheckedContinuation<Void, Never>])>((.idle, []))
    let connectionCount = Atomic<Int>(0)

    public init(configuration: Configuration = Configuration(), handler: any HTTPHandler) {
        precondition(configuration.eventLoopCount > 0 && configuration.maxConnections > 0
                     && configuration.bodyMinBytesPerSecond > 0)
        self.configuration = configuration
        self.handler = handler
    }

    /// The bound port once started (useful with port 0); 0 before `start()`.
    public var port: Int {
        lifecycle.withLock { if case .running(_, let port, _) = $0.state { return port } else { return 0 } }
    }

    /// The number of open client connections.
    public var openConnections: Int { connectionCount.load(ordering: .relaxed) }

    /// Binds and starts the loop threads. Idempotent; a server that has shut down stays down.
    public func start() throws(HTTPServerError) {
        try lifecycle.withLock { (box) throws(HTTPServerError) in
            guard case .idle = box.state else { return }
            var listeners: [Int32] = []
            var port = configuration.port
            var handles: [EventLoopHandle] = []
            do throws(HTTPServerError) {
                for _ in 0..<configuration.eventLoopCount {
                    let l = try Listener.open(host: configuration.host, port: port, backlog: configuration.listenBacklog)
                    listeners.append(l.fd)
                    port = l.port
                    handles.append(try EventLoopHandle(listener: l.fd))
                }
            } catch {
                listeners.forEach { _ = close($0) }
                handles.forEach { $0.close() }
                throw error
            }
            box.state = .running(loops: handles, port: port, liveThreads: handles.count)
            for (index, handle) in handles.enumerated() {
                let thread = Thread { [self] in
                    EventLoop(handle: handle, server: self).run()
                    self.loopExited()
                }
                thread.name = "fuller-http-\(index)"
                thread.start()
            }
        }
    }

    /// Stops accepting, closes idle connections, lets requests in flight finish for up to `grace`,
    /// then closes everything. Idempotent: every caller returns once the server is down.
    public func shutdown(grace: Duration = .seconds(5)) async {
        beginShutdown(grace: grace)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = lifecycle.withLock { box -> Bool in
                if case .stopped = box.state { return true }
                box.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Starts the shutdown `shutdown(grace:)` waits for, without waiting (for synchronous callers
    /// such as a signal handler). Later calls do not move the deadline.
    public func beginShutdown(grace: Duration = .seconds(5)) {
        let loops = lifecycle.withLock { box -> [EventLoopHandle] in
            switch box.state {
            case .idle:
                box.state = .stopped
                return []
            case .running(let loops, _, let live):
                box.state = .stopping(liveThreads: live)
                return loops
            case .stopping, .stopped:
                return []
            }
        }
        let deadline = configuration.clockNanos() + EventLoop.nanos(grace)
        for loop in loops { loop.submit(.shutdown(deadlineNanos: deadline)) }
    }

    private func loopExited() {
        let waiters = lifecycle.withLock { box -> [CheckedContinuation<Void, Never>] in
            guard case .stopping(let live) = box.state else { return [] }
            if live > 1 {
                box.state = .stopping(liveThreads: live - 1)
                return []
            }
            box.state = .stopped
            defer { box.waiters = [] }
            return box.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
#endif
