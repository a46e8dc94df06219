import Model
import Shared

/// One conversation with a master: sends requests, follows a follower's redirect to the leader,
/// and turns every non-2xx answer into a `CLIFailure` carrying the server's error envelope.
struct APISession {
    /// The server URL requests start at.
    let server: String
    let io: CLIIO
    /// The bearer token sent with every request (`--token`, `FULLER_TOKEN`), followed redirects included.
    var token: String? = nil

    /// Redirects followed per request at most; a cluster mid-election must not bounce us forever.
    static let redirectsMax = 3

    /// A 2xx response to `method target`, after following up to `redirectsMax` 307/308 redirects.
    func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
              body: [UInt8] = []) throws(CLIFailure) -> HTTPResponse {
        var server = self.server, target = target
        var headers = headers
        if !body.isEmpty { headers.set("Content-Type", "application/json") }
        headers.set("Accept", "application/json")
        if let token, !token.isEmpty { headers.set("Authorization", "Bearer \(token)") }   // FULLER_TOKEN= means none
        for _ in 0...Self.redirectsMax {
            let response = try io.connect(server).send(method, target, headers: headers, body: body)
            switch response.status {
            case 200..<300:
                return response
            case 307, 308:
                guard let location = response.headers["Location"] else {
                    throw .failed("\(server) answered \(response.status) without a Location")
                }
                (server, target) = Self.resolve(location, server: server)
            default:
                throw CLIFailure.from(status: response.status, body: response.bodyBytes)
            }
        }
        throw .failed("more than \(Self.redirectsMax) redirects for \(method) \(target); is the cluster electing a leader?")
    }

    /// The body of a 2xx response parsed as JSON, along with its raw bytes (for `--json`).
    func json(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
              body: [UInt8] = []) throws(CLIFailure) -> (raw: [UInt8], value: JSONValue) {
        let response = try send(method, target, headers: headers, body: body)
        do {
            return (response.bodyBytes, try JSONParser.parse(response.bodyBytes))
        } catch {
            throw .failed("\(method) \(target): the server's reply is not JSON: \(error.description)")
        }
    }

    /// Where a `Location` points: an absolute `http://` URL names a new server, a path keeps ours.
    static func resolve(_ location: String, server: String) -> (server: String, target: String) {
        guard location.hasPrefix("http://") else { return (server, location) }
        let rest = location.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let target = rest.dropFirst(authority.count)
        return ("http://" + authority, target.isEmpty ? "/" : String(target))
    }
}

/// Builds request targets with every path segment and query value percent-encoded.
enum RequestTarget {
    /// `/v1/jobs/` + the encoded `id` + `suffix`.
    static func path(_ prefix: String, _ id: String, _ suffix: String = "") -> String {
        prefix + encode(id) + suffix
    }

    /// `path?name=value&…`, or just `path` when there are no items.
    static func with(_ path: String, query: [(String, String)]) -> String {
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters pass; every other byte becomes `%XX`.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
