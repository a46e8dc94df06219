import Dispatch
import Foundation
import Glibc
import Model
import Shared
import Synchronization

/// Runs the operator's credentials provider: `PATH TASK_ID JOB_ID`, with `FULLER_TASK_ID`,
/// `FULLER_JOB_ID`, `FULLER_TASK_INDEX` and `FULLER_CONTAINER_IP` in its environment. It must
/// print the JSON `MetadataCredentials.parse` reads and exit 0 within `timeout`; it is killed
/// (SIGKILL) past the timeout or past `outputBytesMax` bytes of output.
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [identity.taskId, identity.jobId]
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        environment["FULLER_TASK_ID"] = identity.taskId
        environment["FULLER_JOB_ID"] = identity.jobId
        environment["FULLER_TASK_INDEX"] = String(identity.index)
        environment["FULLER_CONTAINER_IP"] = identity.ip
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return .failure(.cannotRun("\(path): \(error)"))
        }
        let pid = process.processIdentifier
        let timedOut = Mutex(false)
        let timer = DispatchWorkItem {
            timedOut.withLock { $0 = true }
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.wholeMilliseconds)), execute: timer)
        var bytes: [UInt8] = []
        while let chunk = try? output.fileHandleForReading.read(upToCount: 16 * 1024), !chunk.isEmpty {
            bytes.append(contentsOf: chunk)
            if bytes.count > outputBytesMax {
                kill(pid, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        timer.cancel()
        if timedOut.withLock({ $0 }) { return .failure(.timedOut(timeout)) }
        if bytes.count > outputBytesMax { return .failure(.outputTooLarge(outputBytesMax)) }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            return .failure(.failed(status: process.terminationStatus))
        }
        return .success(bytes)
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
