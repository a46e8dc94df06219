import Foundation
import Glibc
import Shared

/// One live agent per data directory: `DIR/agent.lock`, held with `flock` for the agent's whole
/// life. The kernel releases it when the process ends however it ends (SIGKILL included), so a
/// restart never finds a stale lock; a second agent started on the same directory (a forgotten
/// one, a `dev` run beside another) is refused before it touches a container, with the holder's
/// pid and id in the message. The agent's containers are found by its id on the engine, and its
/// id and data directory go together (`dev` keeps both fixed), so this is where two agents that
/// would fight over the same containers meet.
struct AgentLock: Sendable {
    static let fileName = "agent.lock"
    /// `fuller-agent`'s exit status when the lock is held by another agent.
    static let heldExitStatus = AgentExitStatus.lockHeld

    enum Failure: Error, CustomStringConvertible {
        /// Another live agent holds it: what it wrote there (`pid N id ID`).
        case held(path: String, holder: String)
        case io(path: String, String)

        var description: String {
            switch self {
            case .held(let path, let holder):
                "another agent is already running on this data directory (\(holder.isEmpty ? "holder unknown" : holder); lock \(path)); stop it first, or give this one its own --id and --data-dir"
            case .io(let path, let why): "cannot take the agent lock \(path): \(why)"
            }
        }
    }

    /// Never closed: the lock is held until the process exits.
    private let fd: Int32

    /// Takes the lock without waiting, and writes this process's pid and `id` into the file.
    init(directory: String, id: String) throws(Failure) {
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.read(fd)
            close(fd)
            if code == EWOULDBLOCK { throw .held(path: path, holder: holder) }
            throw .io(path: path, String(cString: strerror(code)))
        }
        let text = Array("pid \(getpid()) id \(id)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    /// What the holder wrote, at most one short line.
    private static func read(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
