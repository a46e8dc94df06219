/// Which routes admit which roles: one table per server, keyed `"METHOD /pattern"` exactly as
/// the router registers it (`GET /v1/jobs/{id}`). A route missing from the table is admitted
/// to `fallback` (admin by default, so a route added without a rule is closed, not open), and a
/// test per server checks that every registered route has its rule.
public struct AccessPolicy: Sendable {
    public let rules: [String: Access]
    /// For routes not in `rules`.
    public let fallback: Access
    /// For requests that match no route (they get the router's 404 or 405): any valid token, so
    /// an anonymous caller cannot map which paths exist.
    public static let unmatched = Access.roles(Set(TokenRole.allCases))

    public init(_ rules: [String: Access], fallback: Access = .admin) {
        self.rules = rules
        self.fallback = fallback
    }

    /// What `method pattern` requires; a nil pattern is a request that matches no route.
    public func access(_ method: HTTPMethod, _ pattern: String?) -> Access {
        guard let pattern else { return Self.unmatched }
        return rules["\(method.rawValue) \(pattern)"] ?? fallback
    }

    /// The routes of `routes` that have no rule, as `METHOD /pattern`.
    public func unlisted(_ routes: [(method: HTTPMethod, pattern: String)]) -> [String] {
        routes.map { "\($0.method.rawValue) \($0.pattern)" }.filter { rules[$0] == nil }
    }
}
