import Foundation
import Model
import Shared
import Synchronization

/// A test's client to a group of masters with a bearer token: follows a follower's 307 to the
/// leader (at most 3 times per call) and, when a master does not answer, tries the next one,
/// as the CLI and agents do.
public final class GroupClient: Sendable {
    public let urls: [String]
    public let token: String?
    private let clients = Mutex<[String: HTTPClient]>([:])

    public init(urls: [String], token: String?) {
        precondition(!urls.isEmpty)
        self.urls = urls
        self.token = token
    }

    /// One call: starting at `urls[start % count]`, the first answer that is not a redirect (a 503
    /// is an answer). Throws only when no master answered at all.
    public func send(_ method: HTTPMethod, _ target: String, body: String = "", headers extra: HTTPHeaders = HTTPHeaders(),
                     start: Int = 0, timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
        var headers = extra
        if let token { headers.set("Authorization", "Bearer \(token)") }
        if !body.isEmpty { headers.set("Content-Type", "application/json") }
        var lastError: (any Error)?
        for offset in 0..<urls.count {
            var url = urls[(start + offset) % urls.count], path = target
            do {
                for _ in 0...3 {
                    let r = try await client(url).send(method, path, headers: headers, body: Array(body.utf8), timeout: timeout)
                    guard r.status == 307, let location = r.headers["Location"] else { return r }
                    (url, path) = Self.split(location)
                }
            } catch {
                lastError = error
            }
        }
        throw TestFailure("no master answered \(method) \(target): \(lastError.map { "\($0)" } ?? "redirect loop")")
    }

    /// The JSON body of a 2xx answer.
    public func json(_ method: HTTPMethod, _ target: String, body: String = "") async throws -> JSONValue {
        let r = try await send(method, target, body: body)
        guard (200..<300).contains(r.status) else {
            throw TestFailure("\(method) \(target): \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return try JSONParser.parse(r.bodyBytes)
    }

    private func client(_ url: String) throws -> HTTPClient {
        try clients.withLock { clients in
            if let c = clients[url] { return c }
            var configuration = HTTPClient.Configuration()
            configuration.maxConnections = 4
            let c = try HTTPClient(url: url, configuration: configuration)
            clients[url] = c
            return c
        }
    }

    /// `http://host:port/path?q` → (`http://host:port`, `/path?q`).
    static func split(_ location: String) -> (String, String) {
        let rest = location.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        return ("http://" + authority, String(rest.dropFirst(authority.count)))
    }

    public func shutdown() {
        clients.withLock { clients in
            clients.values.forEach { $0.shutdown() }
            clients = [:]
        }
    }
}
