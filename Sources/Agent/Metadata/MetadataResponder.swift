import Model
import Shared

/// One metadata request, reduced to what its answer depends on.
struct MetadataQuery: Sendable {
    var method: HTTPMethod
    /// The request path, without the query.
    var path: Substring
    /// The source address of the connection (the container's IP).
    var callerIP: Substring?
    /// `X-aws-ec2-metadata-token`.
    var token: String?
    /// `X-aws-ec2-metadata-token-ttl-seconds`.
    var ttlSeconds: String?
    /// The request carries `X-Forwarded-For`: it came through a proxy.
    var forwarded: Bool

    init(method: HTTPMethod, path: Substring, callerIP: Substring?, token: String? = nil, ttlSeconds: String? = nil,
         forwarded: Bool = false) {
        self.method = method
        self.path = path
        self.callerIP = callerIP
        self.token = token
        self.ttlSeconds = ttlSeconds
        self.forwarded = forwarded
    }
}

/// What the shell does with a query.
enum MetadataOutcome: Sendable {
    case respond(HTTPResponse)
    /// The source address is no running task's: `unknownCallerResponse` (403), unless the shell
    /// has reason to wait for a starting task's address.
    case unknownCaller
    /// The caller asked for IAM credentials that are not cached (or are due for refresh): run
    /// the provider for this task, `store` its answer, and ask again.
    case fetchCredentials(TaskIdentity)
}

/// The metadata endpoint's pure core (see docs/metadata.md): who may ask, what each caller
/// sees, and the IMDSv2 token rules. No I/O, no clock, no randomness: `now` (monotonic, for
/// token lifetimes), `wallNow` (for credential expiry) and fresh tokens come in from the shell.
///
/// Order of the checks, each answering at once when it fails: the source IP must be a running
/// task of this agent (403); the token path takes only `PUT` (405), not through a proxy (403),
/// with a TTL of 1–21600 s (400); other paths take `GET` and `HEAD` (405); a token that is
/// sent must be valid for this container (401), and a job that requires tokens must send one
/// (401); then the path (404 when unknown).
struct MetadataResponder: Sendable {
    static let tokenPath = "/latest/api/token"
    static let credentialsPrefix = "/latest/meta-data/iam/security-credentials/"
    static let tokenHeader = "X-aws-ec2-metadata-token"
    static let ttlHeader = "X-aws-ec2-metadata-token-ttl-seconds"
    static let ttlRange = 1...21_600

    struct Caller: Sendable {
        var identity: TaskIdentity
        var tree: MetadataTree
    }

    let host: MetadataHost
    private(set) var callers: [String: Caller] = [:]
    private(set) var tokens: MetadataTokens
    private(set) var credentials: [String: MetadataCredentials] = [:]

    init(host: MetadataHost, tokensPerTaskMax: Int = 128) {
        self.host = host
        tokens = MetadataTokens(perTaskMax: tokensPerTaskMax)
    }

    /// The running tasks now. A task that is gone loses its tokens and cached credentials.
    mutating func update(_ identities: [TaskIdentity]) {
        var next: [String: Caller] = [:]
        for identity in identities {
            if let known = callers[identity.ip], known.identity == identity {
                next[identity.ip] = known
            } else {
                next[identity.ip] = Caller(identity: identity, tree: MetadataTree(identity, host: host))
            }
        }
        let live = Set(next.values.map { "\($0.identity.taskId)/\($0.identity.containerId)" })
        for old in callers.values where !live.contains("\(old.identity.taskId)/\(old.identity.containerId)") {
            tokens.drop(taskId: old.identity.taskId)
            credentials[old.identity.taskId] = nil
        }
        callers = next
    }

    /// Keeps `credentials` for `identity`'s task if that task still runs.
    mutating func store(_ credentials: MetadataCredentials, for identity: TaskIdentity) {
        guard let caller = callers[identity.ip], caller.identity == identity else { return }
        self.credentials[identity.taskId] = credentials
    }

    mutating func answer(_ query: MetadataQuery, now: Duration, wallNow: Timestamp,
                         newToken: () -> String) -> MetadataOutcome {
        guard let ip = query.callerIP, let caller = callers[String(ip)] else { return .unknownCaller }
        if query.path == Self.tokenPath || query.path == Self.tokenPath + "/" {
            return .respond(issueToken(query, caller, now: now, newToken: newToken))
        }
        guard query.method == .GET || query.method == .HEAD else {
            return .respond(Self.error(.methodNotAllowed, "\(query.method) is not allowed here; allowed: GET, HEAD",
                                       headers: ["Allow": "GET, HEAD"]))
        }
        var remaining: Duration?
        if let token = query.token {
            guard let left = tokens.remaining(token, for: caller.identity, now: now) else {
                return .respond(Self.error(.unauthenticated, "the metadata token is invalid, expired or another container's"))
            }
            remaining = left
        } else if caller.identity.requireTokens {
            return .respond(Self.error(.unauthenticated, "this job requires a metadata token: PUT \(Self.tokenPath) first"))
        }
        if let entry = caller.tree[query.path] {
            return .respond(Self.ok(entry.contentType, entry.body, remaining: remaining))
        }
        if host.credentialsProvider && query.path.hasPrefix(Self.credentialsPrefix) {
            return credentialsAnswer(query.path.dropFirst(Self.credentialsPrefix.count), caller, wallNow: wallNow, remaining: remaining)
        }
        return .respond(Self.error(.notFound, "no metadata at \(query.path.prefix(200))"))
    }

    private mutating func issueToken(_ query: MetadataQuery, _ caller: Caller, now: Duration, newToken: () -> String) -> HTTPResponse {
        guard query.method == .PUT else {
            return Self.error(.methodNotAllowed, "\(query.method) is not allowed here; allowed: PUT", headers: ["Allow": "PUT"])
        }
        guard !query.forwarded else {
            return Self.error(.permissionDenied, "a token request must not come through a proxy (X-Forwarded-For)")
        }
        guard let text = query.ttlSeconds, let ttl = Int(text), Self.ttlRange.contains(ttl) else {
            return Self.error(.invalidArgument, "\(Self.ttlHeader) must be an integer from 1 to 21600", field: Self.ttlHeader)
        }
        let token = newToken()
        tokens.issue(token, to: caller.identity, ttl: .seconds(ttl), now: now)
        return HTTPResponse(status: 200, headers: ["Content-Type": MetadataTree.text, Self.ttlHeader: String(ttl)],
                            body: Array(token.utf8))
    }

    /// `security-credentials/` (the role's name) and `security-credentials/<role>`.
    private func credentialsAnswer(_ rest: Substring, _ caller: Caller, wallNow: Timestamp, remaining: Duration?) -> MetadataOutcome {
        guard let cached = credentials[caller.identity.taskId], wallNow < cached.refreshAfter else {
            return .fetchCredentials(caller.identity)
        }
        if rest.isEmpty { return .respond(Self.ok(MetadataTree.text, Array(cached.roleName.utf8), remaining: remaining)) }
        if rest == cached.roleName || rest == cached.roleName + "/" {
            return .respond(Self.ok(MetadataTree.text, cached.document, remaining: remaining))
        }
        return .respond(Self.error(.notFound, "no role named \(rest.prefix(200)) for this task"))
    }

    static var unknownCallerResponse: HTTPResponse {
        error(.permissionDenied, "the metadata endpoint answers only the containers of running tasks")
    }

    static func ok(_ contentType: String, _ body: [UInt8], remaining: Duration?) -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": contentType]
        if let remaining {
            // Whole seconds left, rounded up: a token is good for at least what this says.
            let (seconds, fraction) = remaining.components
            headers.add(ttlHeader, String(seconds + (fraction > 0 ? 1 : 0)))
        }
        return HTTPResponse(status: 200, headers: headers, body: body)
    }

    static func error(_ code: APIError.Code, _ message: String, field: String? = nil, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        APIError(code, message, field: field).response(headers: headers)
    }
}
