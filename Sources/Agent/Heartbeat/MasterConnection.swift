import Shared
import Synchronization

/// Why a call to the masters failed.
enum MasterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer (refused, timed out, reset); the next call goes to the next master.
    case unreachable(String)
    /// 404: the master does not know this agent (e.g. it restarted); register again.
    case notRegistered
    /// Any other unexpected answer.
    case status(Int, String)
    /// The answer did not decode.
    case invalidAnswer(String)
    case cancelled

    var description: String {
        switch self {
        case .unreachable(let why): "master unreachable: \(why)"
        case .notRegistered: "master does not know this agent"
        case .status(let code, let body): "master answered \(code): \(body)"
        case .invalidAnswer(let why): "invalid answer from master: \(why)"
        case .cancelled: "cancelled"
        }
    }
}

/// The masters as the agent reaches them: every URL from `--masters`, one at a time. A refused
/// connection or a 503 moves to the next one; a 307/308 moves to its `Location` (the leader),
/// followed at most twice per call. One `HTTPClient` per endpoint, at most `clientsMax`.
final class MasterConnection: Sendable {
    private struct State {
        var current: HTTPEndpoint
        var clients: [HTTPEndpoint: HTTPClient] = [:]
    }

    let endpoints: [HTTPEndpoint]
    static let redirectsMax = 2
    static let clientsMax = 16
    private let configuration: HTTPClient.Configuration
    private let state: Mutex<State>
    /// Sent with every call (redirected ones too) when the agent has a token.
    private let headers: HTTPHeaders

    /// `token`: the agent-role bearer token the masters require, if they do.
    init(urls: [String], token: String? = nil,
         configuration: HTTPClient.Configuration = HTTPClient.Configuration()) throws(HTTPClientError) {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token, !token.isEmpty { headers.add("Authorization", "Bearer \(token)") }
        self.headers = headers
        var endpoints: [HTTPEndpoint] = []
        for url in urls { endpoints.append(try HTTPEndpoint(url: url)) }
        guard let first = endpoints.first else { throw .invalidURL("no master URL given") }
        self.endpoints = endpoints
        self.configuration = configuration
        self.state = Mutex(State(current: first))
    }

    /// The master calls currently go to.
    var current: HTTPEndpoint { state.withLock { $0.current } }

    /// POSTs JSON `body` to `path` on the current master; any status but 307/308/503 comes back.
    func post(_ path: String, body: [UInt8], timeout: Duration) async throws(MasterError) -> HTTPResponse {
        var redirects = 0
        while true {
            let (endpoint, client) = clientForCurrent()
            let response: HTTPResponse
            do {
                response = try await client.send(.POST, path, headers: headers, body: body, timeout: timeout)
            } catch .cancelled {
                throw .cancelled
            } catch {
                moveOn(from: endpoint)
                throw .unreachable("\(endpoint): \(error)")
            }
            switch response.status {
            case 307, 308:
                guard redirects < Self.redirectsMax, let location = response.headers["Location"],
                      let leader = try? HTTPEndpoint(url: location) else {
                    moveOn(from: endpoint)
                    throw .status(response.status, "redirect without a usable Location")
                }
                redirects += 1
                state.withLock { $0.current = leader }
            case 503:
                moveOn(from: endpoint)
                throw .status(503, String(decoding: response.bodyBytes.prefix(512), as: UTF8.self))
            default:
                return response
            }
        }
    }

    /// Moves to the master after `endpoint` in the list (unless another call already moved on).
    func moveOn(from endpoint: HTTPEndpoint) {
        state.withLock { state in
            guard state.current == endpoint else { return }
            let index = endpoints.firstIndex(of: endpoint).map { $0 + 1 } ?? 0
            state.current = endpoints[index % endpoints.count]
        }
    }

    private func clientForCurrent() -> (HTTPEndpoint, HTTPClient) {
        state.withLock { state in
            let endpoint = state.current
            if let client = state.clients[endpoint] { return (endpoint, client) }
            if state.clients.count >= Self.clientsMax {
                // Only redirects add endpoints beyond the list; drop those clients first.
                for key in state.clients.keys where !endpoints.contains(key) { state.clients[key] = nil }
            }
            let client = HTTPClient(endpoint: endpoint, configuration: configuration)
            state.clients[endpoint] = client
            return (endpoint, client)
        }
    }

    func shutdown() {
        let clients = state.withLock { state in
            defer { state.clients = [:] }
            return Array(state.clients.values)
        }
        clients.forEach { $0.shutdown() }
    }
}
