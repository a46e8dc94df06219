import Glibc
import Shared
import Storage
import Synchronization

/// Whether this master can still make things durable. Storage failure is fail-stop (DESIGN.md,
/// "Failure model"):
///
///     healthy ──(a WAL, snapshot or hard-state write or fsync fails)──▶ failed (until restart)
///
/// The first failure is recorded and logged once, naming the path and errno; later ones are its
/// consequences and stay quiet. Once failed, the Raft loop has stopped (no proposal, vote, ack
/// or heartbeat leaves this node, so another member takes over), leadership reads as lost, and
/// `StorageHealthGate` answers every API and agent route, `/readyz` included, with 503
/// `storage_failed`, so clients and agents move to another master. Nothing is acknowledged that
/// is not durable: a write whose persist failed gets the same 503. Recovery is a restart once
/// the cause (usually a full disk) is fixed; the WAL's recovery keeps everything acknowledged.
final class StorageHealth: Sendable {
    /// What failed, for the log line and the error answers.
    struct Failure: Sendable, Equatable {
        var path: String
        var errno: Int32?
        var reason: String
    }

    private let failure = Mutex<Failure?>(nil)
    private let reactions = Mutex<[@Sendable () -> Void]>([])
    private let logger: Logger
    /// Named in the log line when the error itself names no file.
    private let dataDirectory: String

    init(logger: Logger, dataDirectory: String) {
        self.logger = logger
        self.dataDirectory = dataDirectory
    }

    /// Runs `body` once, on the thread that reports the failure, when storage fails (e.g. to
    /// answer the agents' held long polls at once instead of after their wait). Keep it short.
    func onFailure(_ body: @escaping @Sendable () -> Void) { reactions.withLock { $0.append(body) } }

    /// nil while storage works.
    var failed: Failure? { failure.withLock { $0 } }

    /// Records `error` as the reason this master stopped, and logs it if it is the first.
    func fail(_ error: any Error) {
        let f = Self.failure(error, dataDirectory: dataDirectory)
        let first = failure.withLock { current -> Bool in
            guard current == nil else { return false }
            current = f
            return true
        }
        guard first else { return }
        var fields: [String: LogValue] = ["path": .string(f.path), "error": .string(f.reason)]
        if let e = f.errno { fields["errno"] = .int(Int64(e)) }
        logger.error("storage failed; this master stops serving until it is restarted", fields)
        for react in reactions.withLock({ $0 }) { react() }
    }

    /// The answer every route but `/healthz` and `/metrics` gets once storage failed.
    var apiError: APIError? { failed.map(Self.apiError) }

    static func apiError(_ f: Failure) -> APIError {
        APIError(.storageFailed, "this master's storage failed (\(f.reason)); it serves nothing until restarted: use another master")
    }

    static func failure(_ error: any Error, dataDirectory: String) -> Failure {
        switch error as? StorageError {
        case let .io(operation, errno)?:
            // `operation` is "<call> <path>" (see POSIXFile).
            let path = operation.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? dataDirectory
            return Failure(path: path, errno: errno, reason: "\(error)")
        case let .corrupt(file, _, _)?:
            return Failure(path: file, errno: nil, reason: "\(error)")
        default:
            return Failure(path: dataDirectory, errno: nil, reason: "\(error)")
        }
    }
}

extension APIError.Code {
    /// The master's own storage failed: a 503 that says to go elsewhere, not to retry here.
    static let storageFailed = APIError.Code("storage_failed", status: 503)
}

/// In front of the whole client API: once storage failed, every route but liveness and metrics
/// answers 503 `storage_failed` (see `StorageHealth`). That holds for an answer produced after
/// the failure to a request that arrived before it too (a held heartbeat, a read): what this
/// master says once its storage failed may already be stale.
struct StorageHealthGate: HTTPHandler {
    let health: StorageHealth
    let next: any HTTPHandler

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard !Self.servedWhenFailed(request.path) else { return next.handle(request, respond: respond) }
        if let error = health.apiError { return respond(error.response) }
        next.handle(request) { [health] response in respond(health.apiError?.response ?? response) }
    }

    /// The process is alive and its metrics say what happened.
    static func servedWhenFailed(_ path: String) -> Bool { path == "/healthz" || path == "/metrics" }
}
