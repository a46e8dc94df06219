import Dispatch
import Foundation
import Glibc
import Synchronization

/// A loopback TCP proxy in front of one endpoint, for one directed link between two masters:
/// master A reaches master B's peer port through the proxy "A→B", so that proxy decides what
/// A's messages to B (and B's answers on those connections) go through.
///
/// Modes:
/// - `pass`: bytes are forwarded both ways.
/// - `drop`: open connections are closed and new ones are reset as soon as they are accepted;
///   the sender sees a refused or broken connection at once.
/// - `blackhole`: connections are accepted but nothing is forwarded either way; the sender sees
///   its requests time out. Bytes written meanwhile stay in the kernel's buffers and are
///   forwarded if the link passes again (as a slow network would deliver them late).
///
/// Bounds: one accept thread and one thread per connection, at most `connectionsMax`
/// connections (more are reset). Every thread wakes at least every `pollMilliseconds` to check
/// the mode, so `stop()` returns within about that long. Only ever listens on and connects to
/// 127.0.0.1.
public final class FaultProxy: Sendable {
    public enum Mode: UInt8, Sendable { case pass, drop, blackhole }

    /// The port this proxy listens on (127.0.0.1).
    public let port: Int
    /// The port it forwards to (127.0.0.1).
    public let upstreamPort: Int
    public let connectionsMax: Int
    static let pollMilliseconds: Int32 = 50
    static let chunkBytes = 64 * 1024

    private struct Connection {
        var client: Int32
        var upstream: Int32
    }

    private struct State {
        var stopped = false
        var nextID = 0
        var connections: [Int: Connection] = [:]
    }

    private let mode = Atomic<UInt8>(Mode.pass.rawValue)
    private let state = Mutex(State())
    private let listener: Int32
    private let threads = DispatchGroup()

    public init(upstreamPort: Int, connectionsMax: Int = 32) throws {
        self.upstreamPort = upstreamPort
        self.connectionsMax = connectionsMax
        (listener, port) = try Self.listen()
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        thread.name = "fault-proxy-accept-\(port)"
        thread.start()
    }

    public var currentMode: Mode { Mode(rawValue: mode.load(ordering: .acquiring)) ?? .pass }

    /// Switches the link; `drop` also breaks the connections already open.
    public func set(_ newMode: Mode) {
        mode.store(newMode.rawValue, ordering: .releasing)
        guard newMode == .drop else { return }
        // Shutting down (not closing) is safe while a pump thread may be inside read or write on
        // these descriptors; the pump notices, closes them and removes the entry.
        state.withLock { s in
            for c in s.connections.values {
                shutdown(c.client, Int32(SHUT_RDWR))
                if c.upstream >= 0 { shutdown(c.upstream, Int32(SHUT_RDWR)) }
            }
        }
    }

    /// Stops accepting, breaks every connection and waits for every thread to finish. Call it:
    /// the threads hold the proxy, so it is never deinitialised while they run.
    public func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            for c in s.connections.values {
                shutdown(c.client, Int32(SHUT_RDWR))
                if c.upstream >= 0 { shutdown(c.upstream, Int32(SHUT_RDWR)) }
            }
            return !s.stopped
        }
        guard first else { return }
        threads.wait()
        close(listener)
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    // MARK: Accepting

    private func acceptLoop() {
        while !stopped {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Self.pollMilliseconds) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            // Not inherited by the masters the tests start (accept4 is not visible from Swift here).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard currentMode != .drop, let id = register(fd) else {
                Self.reset(fd)
                continue
            }
            threads.enter()
            let thread = Thread { [self] in
                pump(id: id, client: fd)
                threads.leave()
            }
            thread.name = "fault-proxy-\(port)-\(id)"
            thread.start()
        }
    }

    private func register(_ fd: Int32) -> Int? {
        state.withLock { s -> Int? in
            guard !s.stopped, s.connections.count < connectionsMax else { return nil }
            s.nextID += 1
            s.connections[s.nextID] = Connection(client: fd, upstream: -1)
            return s.nextID
        }
    }

    // MARK: Forwarding

    /// Forwards one connection until either side closes, the link drops or the proxy stops.
    /// The upstream connection is opened only once the link passes, so a blackholed
    /// connection never reaches the peer at all.
    private func pump(id: Int, client: Int32) {
        var upstream: Int32 = -1
        defer {
            state.withLock { _ = $0.connections.removeValue(forKey: id) }
            close(client)
            if upstream >= 0 { close(upstream) }
        }
        var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
        while !stopped {
            switch currentMode {
            case .drop:
                return
            case .blackhole:
                // Only watch for the client going away; read nothing.
                var p = pollfd(fd: client, events: 0, revents: 0)
                if poll(&p, 1, Self.pollMilliseconds) > 0, p.revents & Int16(POLLHUP | POLLERR) != 0 { return }
                continue
            case .pass:
                break
            }
            if upstream < 0 {
                guard let fd = Self.connect(port: upstreamPort) else { return }
                upstream = fd
                let registered = state.withLock { s -> Bool in
                    guard !s.stopped, s.connections[id] != nil else { return false }
                    s.connections[id]?.upstream = fd
                    return true
                }
                if !registered { return }
            }
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, Self.pollMilliseconds) > 0 else { continue }
            // Re-check: the link may have changed while this thread waited.
            guard currentMode == .pass else { continue }
            for (from, to) in [(0, upstream), (1, client)] where fds[from].revents != 0 {
                let n = read(fds[from].fd, &buffer, buffer.count)
                if n <= 0 { return }
                guard Self.writeAll(to, buffer, count: n) else { return }
            }
        }
    }

    // MARK: Sockets

    private static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("fault proxy: socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            throw TestFailure("fault proxy: bind/listen: errno \(errno)")
        }
        return (fd, try localPort(fd))
    }

    static func localPort(_ fd: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { throw TestFailure("getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    /// A blocking connect to 127.0.0.1:`port` (immediate on loopback: accepted or refused).
    private static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Closes with an RST, so the other side sees a reset rather than an orderly end.
    private static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}

/// Free loopback ports for processes that need a fixed port before they start.
public enum FreePort {
    /// A port the kernel just handed out for 127.0.0.1 and this process released again. Another
    /// process could take it in between; tests accept that small chance.
    public static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = FaultProxy.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestFailure("bind: errno \(errno)") }
        return try FaultProxy.localPort(fd)
    }
}
