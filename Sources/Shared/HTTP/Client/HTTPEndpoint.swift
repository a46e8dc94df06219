/// Where an `HTTPClient` connects: a TCP host and port, or a Unix-domain socket path (the Docker
/// Engine API at `/var/run/docker.sock`).
public enum HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `host` is an IPv4 or IPv6 literal (without brackets) or a name resolved with `getaddrinfo`.
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `http://HOST[:PORT][/...]` (port 80 by default; IPv6 as `http://[::1]:4700`) or
    /// `unix:///absolute/path`. Any path after the authority of an `http` URL is ignored: the client
    /// is per endpoint and each request names its own target.
    public init(url: String) throws(HTTPClientError) {
        if url.hasPrefix("unix://") {
            let path = String(url.dropFirst("unix://".count))
            guard path.hasPrefix("/"), path.utf8.count > 1 else { throw .invalidURL(url) }
            self = .unix(path: path)
            return
        }
        guard url.hasPrefix("http://") else { throw .invalidURL(url) }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let (host, port) = HTTPEndpoint.splitAuthority(authority), !host.isEmpty else {
            throw .invalidURL(url)
        }
        self = .tcp(host: host, port: port)
    }

    /// Splits `host[:port]` or `[v6]:port`; nil when the port is not a number in 1...65535.
    private static func splitAuthority(_ authority: Substring) -> (String, Int)? {
        var host = authority
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard let text = portText else { return (String(host), 80) }
        guard let port = Int(text), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// The `Host` header value sent to this endpoint. A Unix socket has no host name; `localhost`
    /// is what Docker clients send and what Fuller's server accepts.
    public var hostHeader: String {
        switch self {
        case .tcp(let host, let port):
            let name = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? name : "\(name):\(port)"
        case .unix:
            return "localhost"
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        case .unix(let path): "unix://\(path)"
        }
    }
}
