import Model
import Shared
import Synchronization

/// `DockerEngine` over the Docker Engine API on a Unix socket (`/var/run/docker.sock` by default).
///
/// API version: the first call that needs one asks `GET /version` and uses the lower of the
/// daemon's `ApiVersion` and `maximumAPIVersion`; daemons older than `minimumAPIVersion` (1.41) are
/// refused. Every later path is prefixed with it (`/v1.41/containers/create`).
///
/// Two HTTP clients, so that long-lived calls never hold up short ones: `calls` for requests that
/// answer at once (bounded by `callTimeout`), `streams` for `wait`, `events` and `pull`, which may
/// stay open for the life of a container. Each open `wait` or `events` call holds one connection
/// of `streams` (and, in `HTTPClient`'s async API, one thread) until it returns.
///
/// Errors: statuses map to `DockerError` with the daemon's `{"message": …}`; a missing socket, a
/// refused or dropped connection, a timeout and a cancelled task are `.daemonUnavailable` (after a
/// cancellation the caller's `Task.isCancelled` tells the two apart).
final class DockerClient: DockerEngine {
    static let defaultSocketPath = "/var/run/docker.sock"
    /// The oldest Engine API Fuller speaks (Docker 20.10).
    static let minimumAPIVersion = DockerAPIVersion(major: 1, minor: 41)
    /// The newest Engine API whose fields Fuller knows; newer daemons are spoken to at this version.
    static let maximumAPIVersion = DockerAPIVersion(major: 1, minor: 43)
    /// How long `wait` and `events` may go without a byte: in effect, forever (containers run for
    /// months, and `/events` sends nothing while nothing happens).
    static let unboundedIdle: Duration = .seconds(100 * 365 * 86_400)

    /// Timeouts and limits; every field has a default.
    struct Configuration: Sendable {
        var socketPath = DockerClient.defaultSocketPath
        /// Total deadline of a short call (everything except wait, events and pull). `stop` adds
        /// its grace period to this.
        var callTimeout: Duration = .seconds(20)
        var connectTimeout: Duration = .seconds(3)
        /// Total deadline and longest silence of an image pull.
        var pullTimeout: Duration = .seconds(30 * 60)
        var pullIdleTimeout: Duration = .seconds(5 * 60)
        /// Short calls in flight at once.
        var maxCalls = 16
        /// Long-lived calls (`wait`, `events`, `pull`) open at once: about one per running container.
        var maxLongLivedCalls = 1024

        init(socketPath: String = DockerClient.defaultSocketPath) { self.socketPath = socketPath }
    }

    let configuration: Configuration
    /// Where the daemon listens: `configuration.socketPath`, or a TCP address in tests that script
    /// a daemon (plain TCP to a real daemon is not something Fuller supports).
    let endpoint: HTTPEndpoint
    let calls: HTTPClient
    let streams: HTTPClient
    /// The negotiated version; nil until a `GET /version` succeeded.
    private let negotiated = Mutex<DockerAPIVersion?>(nil)

    init(configuration: Configuration = Configuration(), endpoint: HTTPEndpoint? = nil) {
        let endpoint = endpoint ?? .unix(path: configuration.socketPath)
        self.configuration = configuration
        self.endpoint = endpoint
        var short = HTTPClient.Configuration()
        short.connectTimeout = configuration.connectTimeout
        short.requestTimeout = configuration.callTimeout
        // Every short call has a total deadline, which bounds its silences too. An idle bound of its
        // own would cut a `stop`, whose reply comes only once the grace period is over.
        short.idleReadTimeout = Self.unboundedIdle
        short.maxConnections = configuration.maxCalls
        short.userAgent = "fuller-agent"
        var long = short
        long.maxConnections = configuration.maxLongLivedCalls
        long.maxIdleConnections = 4
        long.connectionWaitTimeout = configuration.connectTimeout
        calls = HTTPClient(endpoint: endpoint, configuration: short)
        streams = HTTPClient(endpoint: endpoint, configuration: long)
    }

    convenience init(socketPath: String) {
        self.init(configuration: Configuration(socketPath: socketPath))
    }

    /// The API version in use, once negotiated.
    var apiVersion: DockerAPIVersion? { negotiated.withLock { $0 } }

    func ping() async throws(DockerError) {
        _ = try await call(.GET, unversioned: "/_ping")
    }

    func version() async throws(DockerError) -> DockerVersion {
        let response = try await call(.GET, unversioned: "/version")
        let json = try parseJSON(response)
        let version = DockerVersion(version: json["Version"]?.stringValue ?? "",
                                    apiVersion: json["ApiVersion"]?.stringValue ?? "",
                                    minAPIVersion: json["MinAPIVersion"]?.stringValue ?? "")
        let chosen = try DockerAPIVersion.negotiate(daemon: version, minimum: Self.minimumAPIVersion,
                                                    maximum: Self.maximumAPIVersion)
        negotiated.withLock { $0 = chosen }
        return version
    }

    /// `/vX.Y` + `path` (+ `?query`), negotiating the version first if no call has yet.
    func target(_ path: String, _ query: [(String, String)] = []) async throws(DockerError) -> String {
        var version = negotiated.withLock { $0 }
        if version == nil {
            _ = try await self.version()
            version = negotiated.withLock { $0 }
        }
        guard let version else { preconditionFailure("version() returned without fixing a version") }
        return "/v\(version)\(path)" + DockerWire.query(query)
    }
}

// MARK: - Requests

extension DockerClient {
    /// A short call on a versioned `path`. Statuses outside `2xx` throw (304 as `.notModified`).
    func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json body: [UInt8]? = nil,
              timeout: Duration? = nil) async throws(DockerError) -> HTTPResponse {
        let target = try await self.target(path, query)
        return try await call(method, unversioned: target, json: body, timeout: timeout)
    }

    /// A short call on `target` as given (`/_ping`, `/version`, or an already versioned target).
    func call(_ method: HTTPMethod, unversioned target: String, json body: [UInt8]? = nil,
              timeout: Duration? = nil) async throws(DockerError) -> HTTPResponse {
        var headers = HTTPHeaders()
        if body != nil { headers.add("Content-Type", "application/json") }
        let response: HTTPResponse
        do {
            response = try await calls.send(method, target, headers: headers, body: body ?? [],
                                             timeout: timeout ?? configuration.callTimeout)
        } catch {
            throw unavailable(error)
        }
        try Self.check(status: response.status, body: response.bodyBytes)
        return response
    }

    /// A long-lived call on a versioned `path` whose body is read line by line. `onLine` returns
    /// nil to go on, or what ends the call: `.success` to stop quietly, `.failure` to throw.
    /// A non-`2xx` status throws with the daemon's message before `onLine` sees anything.
    func streamLines(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
                     timeout: Duration?, idleTimeout: Duration,
                     onLine: @escaping @Sendable (ArraySlice<UInt8>) -> Result<Void, DockerError>?) async throws(DockerError) {
        let target = try await self.target(path, query)
        let state = StreamState()
        do {
            try await streams.stream(HTTPRequest(method: method, target: target), timeout: timeout,
                                     idleTimeout: idleTimeout,
                                     onHead: { head in state.begin(status: head.status) },
                                     onLine: { line in state.deliver(line, to: onLine) })
        } catch {
            throw state.failure ?? unavailable(error)
        }
        if let (status, body) = state.errorResponse { try Self.check(status: status, body: body) }
        if let failure = state.failure { throw failure }
    }

    func unavailable(_ error: HTTPClientError) -> DockerError {
        .daemonUnavailable("\(endpoint): \(error)")
    }

    /// Throws the `DockerError` for a non-`2xx` status, carrying the daemon's message.
    static func check(status: Int, body: [UInt8]) throws(DockerError) {
        if (200..<300).contains(status) { return }
        let message = DockerWire.errorMessage(body) ?? "HTTP \(status)"
        switch status {
        case 304: throw .notModified
        case 400: throw .badRequest(message)
        case 404: throw .notFound(message)
        case 409: throw .conflict(message)
        default: throw .serverError(status: status, message: message)
        }
    }

    /// The body as JSON; a daemon that answers with something else is a server error.
    func parseJSON(_ response: HTTPResponse) throws(DockerError) -> JSONValue {
        do {
            return try JSONParser.parse(response.bodyBytes)
        } catch {
            throw .serverError(status: response.status, message: "unreadable reply from the daemon: \(error)")
        }
    }
}

/// What one `streamLines` call has seen, shared between the I/O thread that reads the stream and
/// the task that waits for it.
private final class StreamState: Sendable {
    private struct Fields {
        var status = 0
        /// The body of a non-`2xx` response, kept for its message (bounded).
        var errorBody: [UInt8] = []
        var failure: DockerError?
    }
    private static let errorBodyBytesMax = 64 * 1024
    private let fields = Mutex(Fields())

    func begin(status: Int) -> Bool {
        fields.withLock { $0.status = status }
        return true
    }

    func deliver(_ line: ArraySlice<UInt8>,
                 to onLine: (ArraySlice<UInt8>) -> Result<Void, DockerError>?) -> Bool {
        let status = fields.withLock { fields in
            if !(200..<300).contains(fields.status), fields.errorBody.count < Self.errorBodyBytesMax {
                fields.errorBody.append(contentsOf: line.prefix(Self.errorBodyBytesMax))
            }
            return fields.status
        }
        guard (200..<300).contains(status) else { return true }
        switch onLine(line) {
        case nil: return true
        case .success: return false
        case .failure(let error):
            fields.withLock { $0.failure = error }
            return false
        }
    }

    var failure: DockerError? { fields.withLock { $0.failure } }

    var errorResponse: (Int, [UInt8])? {
        fields.withLock { (200..<300).contains($0.status) ? nil : ($0.status, $0.errorBody) }
    }
}
