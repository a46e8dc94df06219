import Foundation
import Shared

/// Runs the operator's credentials provider: `PATH TASK_ID JOB_ID`, with `FULLER_TASK_ID`,
/// `FULLER_JOB_ID`, `FULLER_TASK_INDEX` and `FULLER_CONTAINER_IP` in its environment. It must
/// print the JSON `MetadataCredentials.parse` reads and exit 0 within `timeout`; it runs in a
/// process group of its own (Shared's `ChildProcess`), killed whole past the timeout (SIGTERM,
/// then SIGKILL at once) or past `outputBytesMax` bytes of output (SIGKILL).
struct CredentialsCommand: Sendable {
    let path: String
    var timeout: Duration = .seconds(5)
    var outputBytesMax = 64 * 1024

    /// Runs the command on a thread of its own (never the cooperative pool or a global queue)
    /// and hands its output, or why there is none, to `completion`.
    func run(for identity: TaskIdentity, completion: @escaping @Sendable (Result<[UInt8], CredentialsError>) -> Void) {
        let (argv, environment) = invocation(for: identity)
        ChildProcess.runInBackground(argv, environment: environment, timeout: timeout, killGrace: .zero,
                                     stdoutMax: outputBytesMax, stderrMax: 0, killPastStdoutMax: true) { [self] result in
            completion(outcome(result))
        }
    }

    private func invocation(for identity: TaskIdentity) -> (argv: [String], environment: [String: String]) {
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                           "FULLER_TASK_ID": identity.taskId, "FULLER_JOB_ID": identity.jobId,
                           "FULLER_TASK_INDEX": String(identity.index), "FULLER_CONTAINER_IP": identity.ip]
        // The path the flag's check found, never a name looked up in PATH.
        let program = path.contains("/") ? path : "./" + path
        return ([program, identity.taskId, identity.jobId], environment)
    }

    private func outcome(_ result: Result<ChildProcess.Result, ChildProcess.SpawnError>) -> Result<[UInt8], CredentialsError> {
        switch result {
        case .failure(let error):
            return .failure(.cannotRun(error.description))
        case .success(let run):
            if run.timedOut { return .failure(.timedOut(timeout)) }
            if run.stdoutTruncated { return .failure(.outputTooLarge(outputBytesMax)) }
            guard run.status == 0 else { return .failure(.failed(status: run.status)) }
            return .success(run.stdout)
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
