import Model
import Shared

/// Why a CLI verb failed, and so which exit status and message it ends with.
///
/// Exit statuses are part of the command-line contract: 1 when the server refused or failed the
/// request (or the exchange broke after connecting), 2 for a command line the user got wrong,
/// 3 when nothing answered at the server address.
enum CLIFailure: Error, Equatable {
    /// A bad command line or unreadable input; nothing was sent.
    case usage(String)
    /// The server answered 4xx or 5xx; `code`, `message` and `field` come from its error envelope.
    case server(status: Int, code: String, message: String, field: String?)
    /// No connection could be made to `server`.
    case cannotConnect(server: String, reason: String)
    /// The connection broke or timed out after it was made.
    case transport(String)
    /// Anything else: an unexpected reply, or `--wait` running out of time.
    case failed(String)

    static let exitServer: Int32 = 1
    static let exitUsage: Int32 = 2
    static let exitCannotConnect: Int32 = 3

    var exitCode: Int32 {
        switch self {
        case .usage: Self.exitUsage
        case .cannotConnect: Self.exitCannotConnect
        case .server, .transport, .failed: Self.exitServer
        }
    }

    /// The lines printed on standard error; the first is always `error: …`.
    var lines: [String] {
        switch self {
        case .usage(let message): ["error: \(message)"]
        case let .server(status, code, message, field):
            ["error: \(code): \(message)" + (field.map { " (field: \($0))" } ?? "")]
                + (status == 401 ? ["hint: the master requires a token; set --token or FULLER_TOKEN"] : [])
        case let .cannotConnect(server, reason):
            ["error: cannot connect to \(server): \(reason)",
             "hint: the master may not be running at \(server); set --server URL or FULLER_SERVER"]
        case .transport(let message), .failed(let message): ["error: \(message)"]
        }
    }

    /// Failures worth another attempt: nothing answered, the exchange broke, or the server said it
    /// is unavailable for now (no leader, overloaded). A 4xx is never retried.
    var isTransient: Bool {
        switch self {
        case .cannotConnect, .transport: true
        case .server(let status, _, _, _): status == 503
        case .usage, .failed: false
        }
    }

    /// The failure a non-2xx response stands for. The body should be the one error envelope;
    /// anything else (a proxy's HTML page) is reported by its status alone.
    static func from(status: Int, body: [UInt8]) -> CLIFailure {
        if let envelope = try? JSONParser.parse(body), case .object? = envelope["error"],
           case .string(let code)? = envelope["error"]?["code"] {
            let message: String
            if case .string(let text)? = envelope["error"]?["message"] { message = text } else { message = "" }
            var field: String?
            if case .string(let text)? = envelope["error"]?["field"], !text.isEmpty { field = text }
            return .server(status: status, code: code, message: message, field: field)
        }
        return .server(status: status, code: "http_\(status)", message: HTTPStatus.reason(status), field: nil)
    }
}
