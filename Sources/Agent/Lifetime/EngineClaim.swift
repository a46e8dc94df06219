import Foundation
import Glibc
import Shared

/// One live agent per id on an engine: an abstract Unix socket named after the engine's socket
/// (its real path) and the agent's id, bound for the agent's whole life. Two agents with the
/// same id on one engine would fight over the same labelled containers, whatever their data
/// directories (`AgentLock` covers one directory). The kernel frees the name when the process
/// ends however it ends, so nothing is ever stale; a second agent finds the name taken, asks the
/// holder's pid (`SO_PEERCRED`) and is refused with exit status 3.
///
/// Abstract socket names belong to a network namespace: agents in different namespaces on one
/// engine are not seen (run one agent per host, in the host's namespace).
struct EngineClaim: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case held(id: String, engine: String, holder: pid_t?)
        case io(String)

        var description: String {
            switch self {
            case .held(let id, let engine, let holder):
                "an agent with id \(id) is already running on the engine at \(engine)\(holder.map { " (pid \($0))" } ?? ""); stop it first, or give this one another --id"
            case .io(let why): "cannot claim the agent id on its engine: \(why)"
            }
        }
    }

    /// Never closed: the claim lasts until the process exits.
    private let fd: Int32

    /// `fuller-agent:<crc32c of the engine's real path>:<id>`, within the 107 bytes a name may
    /// have (a longer id is cut; ids that long are not seen in practice).
    static func name(engine: String, id: String) -> [UInt8] {
        let path = URL(fileURLWithPath: engine).resolvingSymlinksInPath().path
        let hash = Array(path.utf8).withUnsafeBytes { CRC32C.checksum($0) }
        return Array(Array("fuller-agent:\(String(hash, radix: 16)):\(id)".utf8).prefix(106))
    }

    init(engine: String, id: String) throws(Failure) {
        let name = Self.name(engine: engine, id: id)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(String(cString: strerror(errno))) }
        let bound = Self.withAddress(name) { bind(fd, $0, $1) } == 0
        if bound, listen(fd, 8) == 0 {
            self.fd = fd
            return
        }
        let code = errno
        close(fd)
        guard code == EADDRINUSE else { throw .io(String(cString: strerror(code))) }
        throw .held(id: id, engine: engine, holder: Self.holder(name))
    }

    /// The pid of the process holding `name`, asked by connecting to it.
    private static func holder(_ name: [UInt8]) -> pid_t? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard withAddress(name, { connect(fd, $0, $1) }) == 0 else { return nil }
        // `struct ucred { pid_t pid; uid_t uid; gid_t gid; }`, which Glibc's module leaves out.
        var credentials: [Int32] = [0, 0, 0]
        var length = socklen_t(MemoryLayout<Int32>.size * 3)
        let asked = credentials.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &length) }
        guard asked == 0, credentials[0] > 0 else { return nil }
        return credentials[0]
    }

    /// `body` with a `sockaddr_un` for the abstract name (a leading NUL, no trailing one).
    private static func withAddress(_ name: [UInt8], _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path[0] = 0
            for (index, byte) in name.enumerated() { path[index + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.count)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
