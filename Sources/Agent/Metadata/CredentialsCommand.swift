import Dispatch
import Foundation
import Glibc
import Model
import Shared
import Synchronization

/// Runs the operator's credentials provider: `PATH TASK_ID JOB_ID`, with `FULLER_TASK_ID`,
/// `FULLER_JOB_ID`, `FULLER_TASK_INDEX` and `FULLER_CONTAINER_IP` in its environment. It must
/// print the JSON `MetadataCredentials.parse` reads and exit 0 within `timeout`; it runs in a
/// process group of its own, killed whole (SIGKILL) past the timeout or past `outputBytesMax`
/// bytes of output.
struct CredentialsCommand: Sendable {
    let path: String
    var timeout: Duration = .seconds(5)
    var outputBytesMax = 64 * 1024

    /// Runs the command on a background thread and hands its output, or why there is none, to
    /// `completion`.
    func run(for identity: TaskIdentity, completion: @escaping @Sendable (Result<[UInt8], CredentialsError>) -> Void) {
        DispatchQueue.global().async { completion(self.runBlocking(for: identity)) }
    }

    func runBlocking(for identity: TaskIdentity) -> Result<[UInt8], CredentialsError> {
        var environment = ["PATH=" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        environment += ["FULLER_TASK_ID=\(identity.taskId)", "FULLER_JOB_ID=\(identity.jobId)",
                        "FULLER_TASK_INDEX=\(identity.index)", "FULLER_CONTAINER_IP=\(identity.ip)"]
        let child: (pid: pid_t, output: Int32)
        switch ProcessGroupChild.spawn(path, arguments: [identity.taskId, identity.jobId], environment: environment) {
        case .success(let spawned): child = spawned
        case .failure(let error): return .failure(error)
        }
        let (bytes, timedOut) = readOutput(child.output, pid: child.pid)
        close(child.output)
        let status = ProcessGroupChild.wait(child.pid)
        if timedOut { return .failure(.timedOut(timeout)) }
        if bytes.count > outputBytesMax { return .failure(.outputTooLarge(outputBytesMax)) }
        guard status == 0 else { return .failure(.failed(status: status)) }
        return .success(bytes)
    }
}

extension CredentialsCommand {
    /// Reads the command's output until it closes it, `timeout` passes or it writes more than
    /// `outputBytesMax`; in the last two cases the command is killed. Polling with a deadline,
    /// rather than blocking in `read`, keeps the timeout even when a child of the command
    /// (which the kill does not reach) holds the pipe open.
    func readOutput(_ fd: Int32, pid: Int32) -> (bytes: [UInt8], timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = left > .zero ? poll(&descriptor, 1, Int32(max(1, left.wholeMilliseconds))) : 0
            if ready == 0 {
                kill(-pid, SIGKILL)
                return (bytes, true)
            }
            if ready < 0 && errno == EINTR { continue }
            let count = ready < 0 ? -1 : read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return (bytes, false) }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > outputBytesMax {
                kill(-pid, SIGKILL)
                return (bytes, false)
            }
        }
    }
}

/// A child process in a new process group (so a kill of `-pid` reaches its children too), its
/// standard output a pipe, standard input and error `/dev/null`.
enum ProcessGroupChild {
    static func spawn(_ path: String, arguments: [String], environment: [String]) -> Result<(pid: pid_t, output: Int32), CredentialsError> {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure(.cannotRun("pipe: errno \(errno)")) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return .failure(.cannotRun("\(path): \(String(cString: strerror(rc)))"))
        }
        return .success((pid, fds[0]))
    }

    /// Waits for `pid`; its exit status, or 128 + the signal that ended it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

/// Why a credentials provider gave no credentials.
enum CredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotRun(String)
    case timedOut(Duration)
    case outputTooLarge(Int)
    case failed(status: Int32)
    case invalidOutput(String)

    var description: String {
        switch self {
        case .cannotRun(let why): "cannot run the credentials provider: \(why)"
        case .timedOut(let limit): "the credentials provider did not finish within \(limit)"
        case .outputTooLarge(let limit): "the credentials provider printed more than \(limit) bytes"
        case .failed(let status): "the credentials provider failed (status \(status))"
        case .invalidOutput(let why): "the credentials provider's output is unusable: \(why)"
        }
    }
}
