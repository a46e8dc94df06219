import Foundation
import Glibc
import Shared

/// A deliberately dumb blocking TCP client for live server tests: it sends exactly the bytes a
/// test gives it, so tests can misbehave (trickle, pipeline, half-close, send garbage). Every
/// read is bounded by `timeout`, so a broken server fails a test instead of hanging it.
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32
    private var parser = HTTPParser(mode: .response, limits: .init(maxHeaderBytes: 64 * 1024, maxBodyBytes: 64 << 20))

    init(port: Int, timeout: Duration = .seconds(5)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // The descriptor is closed by deinit, which runs when this init throws (every stored
        // property is set by then); closing it here too would close whatever reused its number.
        guard rc == 0 else { throw Failure(description: "connect failed: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Sends one byte at a time with a pause between them.
    func trickle(_ text: String, pause: Duration = .milliseconds(1)) throws {
        for byte in text.utf8 {
            try send([byte])
            Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18)
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads one response (a 1xx counts as one).
    func readResponse(to method: HTTPMethod = .GET) throws -> Response {
        parser.expectResponse(to: method)
        var head: HTTPParser.ResponseHead?
        var body: [UInt8] = []
        while true {
            while let event = try parser.next() {
                switch event {
                case .responseHead(let h): head = h
                case .body(let piece): body += piece
                case .end: return Response(status: head!.status, headers: head!.headers, body: body)
                case .requestHead: throw Failure(description: "unexpected request head")
                }
            }
            guard let bytes = try readSome() else {
                try parser.finishInput()
                continue
            }
            parser.append(bytes)
        }
    }

    /// True when the server closed the connection (EOF or reset) within the read timeout.
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Whether anything (bytes, the end, a reset) awaits reading now; never waits.
    func hasInput() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Some bytes, or nil at EOF; throws on timeout or error.
    private func readSome() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return nil }
        guard n > 0 else { throw Failure(description: errno == EAGAIN ? "read timed out" : "read failed: errno \(errno)") }
        return Array(buffer[0..<n])
    }
}

/// A handler made of a closure.
struct ClosureHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest, @escaping @Sendable (HTTPResponse) -> Void) -> Void
    init(_ body: @escaping @Sendable (HTTPRequest, @escaping @Sendable (HTTPResponse) -> Void) -> Void) { self.body = body }
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) { body(request, respond) }
}

/// Runs `body` against a started server and always shuts it down.
func withServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
                handler: any HTTPHandler,
                _ body: (HTTPServer) async throws -> Void) async throws {
    var configuration = HTTPServer.Configuration()
    configuration.eventLoopCount = 2
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, handler: handler)
    try server.start()
    do {
        try await body(server)
    } catch {
        await server.shutdown(grace: .zero)
        throw error
    }
    await server.shutdown(grace: .seconds(1))
}

/// A handler answering `GET /echo` style requests: status 200, body "<method> <target> <body>".
let echoHandler = ClosureHandler { request, respond in
    let text = "\(request.method) \(request.target) " + String(decoding: request.body, as: UTF8.self)
    respond(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array(text.utf8)))
}
