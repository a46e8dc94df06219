import Dispatch
import Foundation
import Glibc

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
