#if canImport(Glibc)
import Glibc

/// The Linux calls the server (and `ChildProcess`) need that the Glibc module map does not
/// export (`epoll`, `eventfd`, `accept4`, `pipe2`). They are resolved once with `dlsym` and called through
/// `@convention(c)` pointers, so the C calling convention is exact and no C target is needed.
enum Syscalls {
    typealias EpollCreate = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// C function pointers are plain immutable addresses, resolved once during static
    /// initialisation (which Swift makes thread-safe) and never written again.
    nonisolated(unsafe) static let epollCreate1: EpollCreate = symbol("epoll_create1")
    nonisolated(unsafe) static let epollCtl: EpollCtl = symbol("epoll_ctl")
    nonisolated(unsafe) static let epollWait: EpollWait = symbol("epoll_wait")
    nonisolated(unsafe) static let eventfd: EventFD = symbol("eventfd")
    nonisolated(unsafe) static let accept4: Accept4 = symbol("accept4")
    nonisolated(unsafe) static let pipe2: Pipe2 = symbol("pipe2")

    static let epollIn: UInt32 = 0x001
    static let epollOut: UInt32 = 0x004
    static let epollErr: UInt32 = 0x008
    static let epollHup: UInt32 = 0x010
    static let ctlAdd: Int32 = 1
    static let ctlDel: Int32 = 2
    static let ctlMod: Int32 = 3

    /// `struct epoll_event` is packed on x86_64 (12 bytes) and naturally aligned elsewhere.
    #if arch(x86_64)
    static let eventStride = 12
    static let eventDataOffset = 4
    #else
    static let eventStride = 16
    static let eventDataOffset = 8
    #endif

    private static func symbol<T>(_ name: String) -> T {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            preconditionFailure("libc lacks \(name)")
        }
        return unsafeBitCast(address, to: T.self)
    }

    static func epollControl(_ epfd: Int32, _ op: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        var raw = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &raw) { p in
            p.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: data, toByteOffset: eventDataOffset, as: UInt64.self)
            return epollCtl(epfd, op, fd, p.baseAddress)
        }
    }

    /// The `(events, data)` of entry `index` in a buffer filled by `epoll_wait`.
    static func event(at index: Int, in buffer: UnsafeMutableRawPointer) -> (events: UInt32, data: UInt64) {
        let base = buffer + index * eventStride
        return (base.loadUnaligned(as: UInt32.self), base.loadUnaligned(fromByteOffset: eventDataOffset, as: UInt64.self))
    }

    /// Nanoseconds on the monotonic clock.
    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32 = 1) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// `host:port` of a socket address, for `HTTPRequest.remoteAddress`.
    static func describe(_ storage: sockaddr_storage) -> String {
        var copy = storage
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &copy) { p -> String in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    var addr = a.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &host, socklen_t(host.count))
                    return "\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: a.pointee.sin_port))"
                }
            case AF_INET6:
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &host, socklen_t(host.count))
                    return "[\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))]:\(UInt16(bigEndian: a.pointee.sin6_port))"
                }
            default:
                return "unknown"
            }
        }
    }
}
#endif
