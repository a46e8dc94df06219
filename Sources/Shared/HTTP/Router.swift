import Foundation

/// The values of a route's `{name}` segments, percent-decoded.
public struct PathParameters: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]
    public init(_ values: [String: String] = [:]) { self.values = values }
    public subscript(name: String) -> String? { values[name] }
}

/// Routes `method + pattern` to handlers; itself an `HTTPHandler`. Patterns are literal segments
/// and `{name}` parameters (`/v1/jobs/{id}/capacity`); a literal segment wins over a parameter at
/// the same position. Unknown paths get a 404 and a known path with another method a 405 with
/// `Allow`, both in the `APIError` envelope. HEAD falls back to the GET handler (the server drops
/// the body). Register every route before serving: a `Router` is a value.
public struct Router: HTTPHandler {
    public typealias Respond = @Sendable (HTTPResponse) -> Void
    public typealias Handler = @Sendable (HTTPRequest, PathParameters, @escaping Respond) -> Void

    /// One completed request, for metrics: `route` is the pattern, or "unmatched".
    public struct Observation: Sendable {
        public var method: HTTPMethod
        public var route: String
        public var status: Int
        public var durationSeconds: Double
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    struct Route: Sendable {
        var method: HTTPMethod
        var pattern: String
        var segments: [Segment]
        var handler: Handler
    }

    private var table: [Route] = []
    /// Called once per completed request, on whichever thread answered it.
    public var observer: (@Sendable (Observation) -> Void)?

    public init() {}

    /// The registered routes, in registration order.
    public var routes: [(method: HTTPMethod, pattern: String)] {
        table.map { (method: $0.method, pattern: $0.pattern) }
    }

    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Self.segments(of: pattern)
        precondition(!table.contains { $0.method == method && $0.segments == segments },
                     "route \(method) \(pattern) registered twice")
        table.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    /// Registers a handler that answers synchronously; a thrown `APIError` becomes its response,
    /// any other error a 500.
    public mutating func add(_ method: HTTPMethod, _ pattern: String,
                             _ handler: @escaping @Sendable (HTTPRequest, PathParameters) throws -> HTTPResponse) {
        add(method, pattern) { (request: HTTPRequest, parameters: PathParameters, respond: @escaping Respond) in
            do {
                respond(try handler(request, parameters))
            } catch let error as APIError {
                respond(error.response)
            } catch {
                respond(APIError(.internalError, "internal error").response)
            }
        }
    }

    /// The route that would answer `request` (HEAD answered by GET reports GET), nil when the
    /// answer would be a 404 or 405. For gates in front of the router, such as `AuthGate`.
    public func route(for request: HTTPRequest) -> (method: HTTPMethod, pattern: String, parameters: PathParameters)? {
        let found = match(request.method, path: Self.rawPath(request.target))
        guard let route = found.route else { return nil }
        return (route.method, route.pattern, found.parameters)
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let path = Self.rawPath(request.target)
        let match = self.match(request.method, path: path)
        var respond = respond
        if let observer {
            let started = ContinuousClock.now
            let method = request.method, route = match.route?.pattern ?? "unmatched", inner = respond
            respond = { response in
                inner(response)
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                observer(Observation(method: method, route: route, status: response.status, durationSeconds: seconds))
            }
        }
        if let route = match.route {
            return route.handler(request, match.parameters, respond)
        }
        if let error = match.error { return respond(error) }
        respond(APIError(.notFound, "no route for \(request.method) \(Self.clip(path))").response)
    }

    private struct Match {
        var route: Route?
        var parameters = PathParameters()
        var error: HTTPResponse?
    }

    private func match(_ method: HTTPMethod, path: Substring) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var best: (route: Route, values: [String: String])?
        var allowed: Set<String> = []
        for route in table where route.segments.count == parts.count {
            guard let values = Self.bind(route.segments, to: parts) else { continue }
            let methodMatches = route.method == method || (method == .HEAD && route.method == .GET)
            if !methodMatches {
                allowed.insert(route.method.rawValue)
                if route.method == .GET { allowed.insert("HEAD") }
                continue
            }
            if let current = best, !Self.isMoreSpecific(route, than: current.route, exactMethod: method) { continue }
            best = (route, values)
        }
        if let best {
            var decoded: [String: String] = [:]
            for (name, raw) in best.values {
                guard let value = HTTPRequest.percentDecode(raw) else {
                    return Match(error: APIError(.invalidArgument, "malformed escape in path", field: name).response)
                }
                decoded[name] = value
            }
            return Match(route: best.route, parameters: PathParameters(decoded))
        }
        guard !allowed.isEmpty else { return Match() }
        let allow = allowed.sorted().joined(separator: ", ")
        let error = APIError(.methodNotAllowed, "\(method) is not allowed here; allowed: \(allow)")
        return Match(error: error.response(headers: ["Allow": allow]))
    }

    private static func bind(_ segments: [Segment], to parts: ArraySlice<Substring>) -> [String: String]? {
        var values: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): if part != text { return nil }
            case .parameter(let name):
                if part.isEmpty { return nil }
                values[name] = String(part)
            }
        }
        return values
    }

    /// Literal beats parameter at the first position where two patterns differ; an exact method
    /// beats the HEAD-to-GET fallback.
    private static func isMoreSpecific(_ a: Route, than b: Route, exactMethod: HTTPMethod) -> Bool {
        if (a.method == exactMethod) != (b.method == exactMethod) { return a.method == exactMethod }
        for (x, y) in zip(a.segments, b.segments) where x != y {
            if case .literal = x, case .parameter = y { return true }
            if case .parameter = x, case .literal = y { return false }
        }
        return false
    }

    static func segments(of pattern: String) -> [Segment] {
        precondition(pattern.hasPrefix("/"), "route pattern must start with /: \(pattern)")
        return pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }

    /// The target's path, still percent-encoded, so an encoded `/` stays inside its segment.
    static func rawPath(_ target: String) -> Substring {
        guard let mark = target.firstIndex(of: "?") else { return Substring(target) }
        return target[..<mark]
    }

    private static func clip(_ path: Substring) -> String {
        path.count > 200 ? String(path.prefix(200)) + "…" : String(path)
    }
}
