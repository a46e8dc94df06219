import Shared

/// How the CLI reaches one master: a blocking request/response exchange. The live one wraps
/// `HTTPClient`; tests use a scripted fake, so every verb is testable without a network.
protocol CLITransport {
    /// Sends one request. Any HTTP status is a response; only a failed exchange throws.
    func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders,
              body: [UInt8]) throws(CLIFailure) -> HTTPResponse
}

/// `CLITransport` over the shared `HTTPClient`.
struct HTTPClientTransport: CLITransport {
    let client: HTTPClient
    /// The server URL as the user gave it, for messages.
    let server: String

    /// A transport for `server` (`http://HOST:PORT`); an unusable URL is a usage error.
    init(server: String) throws(CLIFailure) {
        var configuration = HTTPClient.Configuration()
        configuration.maxConnections = 2
        configuration.userAgent = "fuller-master-cli"
        do {
            client = try HTTPClient(url: server, configuration: configuration)
        } catch {
            throw .usage("--server: \(error.description)")
        }
        self.server = server
    }

    func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders,
              body: [UInt8]) throws(CLIFailure) -> HTTPResponse {
        do {
            return try client.send(method, target, headers: headers, body: body)
        } catch {
            switch error {
            case .connectFailed, .resolveFailed, .timedOut(.connect):
                throw .cannotConnect(server: server, reason: error.description)
            case .invalidURL, .invalidRequest:
                throw .usage(error.description)
            default:
                throw .transport("\(method) \(target) on \(server): \(error.description)")
            }
        }
    }
}
