import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback server for client tests that plays scripted bytes: it accepts connections on a TCP
/// port or a Unix socket and runs `script` on a thread per connection. Every read it makes is
/// bounded (5 s), so a broken test fails instead of hanging.
final class ScriptedServer: Sendable {
    /// One accepted connection, as the script sees it.
    struct Connection: Sendable {
        let fd: Int32
        /// Zero-based order of acceptance.
        let index: Int
        fileprivate let server: ScriptedServer

        /// Reads one request (head, plus a Content-Length body) and records it; nil when the
        /// client closed. Requests are not pipelined by the client, so no bytes are left over.
        func readRequest() -> String? {
            var bytes: [UInt8] = []
            while true {
                if let end = ScriptedServer.headEnd(bytes) {
                    let head = String(decoding: bytes[..<end], as: UTF8.self)
                    let length = ScriptedServer.contentLength(head)
                    while bytes.count < end + length { guard readSome(into: &bytes) else { return nil } }
                    let request = String(decoding: bytes, as: UTF8.self)
                    server.state.withLock { $0.requests.append(request) }
                    return request
                }
                guard readSome(into: &bytes) else { return nil }
            }
        }

        private func readSome(into bytes: inout [UInt8]) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            bytes.append(contentsOf: buffer[..<count])
            return true
        }

        func write(_ text: String) { write(Array(text.utf8)) }

        func write(_ bytes: [UInt8]) {
            var sent = 0
            while sent < bytes.count {
                let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { return }
                sent += count
            }
        }

        /// Blocks until the client closes its side (or `limit` passes: reads time out every 5 s,
        /// and a slow machine may take longer than that to get every client going).
        func waitForClose(limit: Duration = .seconds(30)) {
            var byte: UInt8 = 0
            let end = ContinuousClock.now + limit
            while ContinuousClock.now < end {
                let count = recv(fd, &byte, 1, 0)
                if count > 0 || (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) { continue }
                return
            }
        }
    }

    let port: Int
    let unixPath: String?
    private let listener: Int32
    fileprivate let state = Mutex((accepted: 0, requests: [String](), stopped: false))
    private let done = DispatchSemaphore(value: 0)

    /// Listens on 127.0.0.1 (an ephemeral port) or, with `unixPath`, on that socket file.
    init(unixPath: String? = nil, backlog: Int32 = 16, script: @escaping @Sendable (Connection) -> Void) throws {
        self.unixPath = unixPath
        (listener, port) = try ScriptedServer.listen(unixPath: unixPath, backlog: backlog)
        let thread = Thread { [self] in acceptLoop(script: script) }
        thread.start()
    }

    /// Listens but accepts nothing: for tests that fill the backlog.
    init(neverAccepting unixPath: String?, backlog: Int32) throws {
        self.unixPath = unixPath
        (listener, port) = try ScriptedServer.listen(unixPath: unixPath, backlog: backlog)
        done.signal()
    }

    var acceptCount: Int { state.withLock { $0.accepted } }
    var requests: [String] { state.withLock { $0.requests } }

    func stop() {
        let wasStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !wasStopped else { return }
        _ = done.wait(timeout: .now() + 5)
        close(listener)
        if let unixPath { unlink(unixPath) }
    }

    private func acceptLoop(script: @escaping @Sendable (Connection) -> Void) {
        defer { done.signal() }
        while !state.withLock({ $0.stopped }) {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let index = state.withLock { state in
                defer { state.accepted += 1 }
                return state.accepted
            }
            let thread = Thread { [self] in
                script(Connection(fd: fd, index: index, server: self))
                close(fd)
            }
            thread.start()
        }
    }

    private static func listen(unixPath: String?, backlog: Int32) throws -> (Int32, Int) {
        struct SetupFailed: Error { let call: String; let code: Int32 }
        if let unixPath {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: unixPath.utf8 + [0]) }
            unlink(unixPath)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, Glibc.listen(fd, backlog) == 0 else { throw SetupFailed(call: "bind/listen", code: errno) }
            return (fd, 0)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound, Glibc.listen(fd, backlog) == 0 else { throw SetupFailed(call: "bind/listen", code: errno) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func contentLength(_ head: String) -> Int {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
