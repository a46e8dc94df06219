#if canImport(Glibc)
import Glibc
#endif

/// Why an `HTTPClient` call failed. Every case is an operating error (a dead peer, a slow peer, a
/// bad reply, a limit reached); none of them means the client itself is broken.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The wait that ran out.
    public enum Phase: String, Sendable {
        /// Establishing the TCP or Unix-domain connection.
        case connect
        /// Writing the request (the peer stopped reading).
        case send
        /// No byte of the response arrived for `idleReadTimeout`.
        case idleRead
        /// The whole exchange took longer than the request's deadline.
        case requestDeadline
    }

    /// The URL given to `HTTPEndpoint(url:)` is not one Fuller understands.
    case invalidURL(String)
    /// The request cannot be written as HTTP/1.1 (e.g. a CR or LF inside a header value).
    case invalidRequest(String)
    /// The host name did not resolve.
    case resolveFailed(host: String, message: String)
    /// `socket()` or `connect()` failed, e.g. `ECONNREFUSED` or `ENOENT` for a missing socket file.
    case connectFailed(errno: Int32, message: String)
    case timedOut(Phase)
    /// The peer closed the connection before the response was complete.
    case connectionClosed
    /// `send()` or `recv()` failed with something other than a timeout or an orderly close.
    case ioFailed(errno: Int32, message: String)
    /// The response is not valid HTTP/1.1: what the parser rejected.
    case invalidResponse(HTTPParseError)
    /// The response body exceeded the configured maximum.
    case responseTooLarge(limitBytes: Int)
    /// A streamed line exceeded the configured maximum.
    case lineTooLong(limitBytes: Int)
    /// Every connection is in use and none came free within `connectionWaitTimeout`.
    case tooManyConnections(limit: Int)
    /// The caller cancelled the request (a `HTTPClient.Cancellation` or a cancelled task).
    case cancelled
    /// The client was shut down.
    case shutDown

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL '\(url)': expected http://HOST:PORT or unix:///PATH"
        case .invalidRequest(let why): "invalid request: \(why)"
        case .resolveFailed(let host, let message): "cannot resolve '\(host)': \(message)"
        case .connectFailed(let code, let message): "connect failed: \(message) (errno \(code))"
        case .timedOut(.connect): "timed out connecting"
        case .timedOut(.send): "timed out sending the request"
        case .timedOut(.idleRead): "timed out waiting for response bytes"
        case .timedOut(.requestDeadline): "request deadline exceeded"
        case .connectionClosed: "connection closed by the server before the response was complete"
        case .ioFailed(let code, let message): "socket I/O failed: \(message) (errno \(code))"
        case .invalidResponse(.malformed(let why)): "invalid response: \(why)"
        case .invalidResponse(.headerTooLarge): "invalid response: header block too large"
        case .invalidResponse(.unsupportedTransferEncoding): "invalid response: unsupported transfer coding"
        case .invalidResponse(.unsupportedVersion): "invalid response: not HTTP/1.x"
        case .invalidResponse(let error): "invalid response: \(error)"
        case .responseTooLarge(let limit): "response body larger than \(limit) bytes"
        case .lineTooLong(let limit): "streamed line longer than \(limit) bytes"
        case .tooManyConnections(let limit): "all \(limit) connections busy; none came free in time"
        case .cancelled: "request cancelled"
        case .shutDown: "HTTP client shut down"
        }
    }

    /// The text of `errno` code `code`.
    static func message(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
