#if canImport(Glibc)
/// In front of a server's handler: answers 401 or 403 before anything else runs unless the
/// request's bearer token has a role its route admits (`AccessPolicy`), then hands the request
/// on. With no authenticator (no `--token-file`) every request passes.
///
/// 401 (missing, malformed, unknown or expired token) carries `WWW-Authenticate: Bearer`
/// (RFC 6750); 403 names the roles that would do. Both use the `APIError` envelope; neither
/// echoes the token.
public struct AuthGate: HTTPHandler {
    /// A further check once the role is admitted (e.g. an agent token may act only as its own
    /// agent); a returned error is the answer.
    public typealias Check = @Sendable (Principal, HTTPRequest, PathParameters) -> APIError?

    let router: Router
    let next: any HTTPHandler
    let policy: AccessPolicy
    let authenticator: Authenticator?
    let check: Check?
    let onRefused: (@Sendable (Authenticator.Failure) -> Void)?

    /// `router` finds each request's route; `next` answers admitted requests (the router itself,
    /// or a gate in front of it).
    public init(router: Router, next: (any HTTPHandler)? = nil, policy: AccessPolicy, authenticator: Authenticator?,
                check: Check? = nil, onRefused: (@Sendable (Authenticator.Failure) -> Void)? = nil) {
        self.router = router
        self.next = next ?? router
        self.policy = policy
        self.authenticator = authenticator
        self.check = check
        self.onRefused = onRefused
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let authenticator else { return next.handle(request, respond: respond) }
        let route = router.route(for: request)
        let access = policy.access(route?.method ?? request.method, route?.pattern)
        switch authenticator.authorize(request.headers["Authorization"], for: access) {
        case .success(let principal):
            if let principal, let route, let check, let error = check(principal, request, route.parameters) {
                return respond(error.response)
            }
            next.handle(request, respond: respond)
        case .failure(let failure):
            onRefused?(failure)
            respond(Self.response(failure, request: request))
        }
    }

    /// The 401 or 403 for `failure`.
    public static func response(_ failure: Authenticator.Failure, request: HTTPRequest) -> HTTPResponse {
        let challenge = #"Bearer realm="fuller""#
        switch failure {
        case .missing:
            return APIError(.unauthenticated, "this route needs a bearer token (Authorization: Bearer TOKEN)")
                .response(headers: ["WWW-Authenticate": challenge])
        case .malformed, .unknown, .expired:
            let why = failure == .expired ? "the token has expired" : failure == .malformed
                ? "the Authorization header is not Bearer TOKEN" : "the token is not valid"
            return APIError(.unauthenticated, why)
                .response(headers: ["WWW-Authenticate": challenge + #", error="invalid_token", error_description="\#(why)""#])
        case let .forbidden(principal, access):
            let path = String(request.target.prefix { $0 != "?" }.prefix(200))
            return APIError(.permissionDenied, "a \(principal.role.rawValue) token may not call \(request.method) \(path); it needs \(access)")
                .response
        }
    }
}
#endif
