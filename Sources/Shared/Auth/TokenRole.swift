/// What a bearer token may do. A token has exactly one role; a route names the roles it admits
/// (see `Access`), so a new role never widens an old route by accident.
///
/// - `read`: every `GET` of the client API.
/// - `submit`: `read`, plus job and task writes (submit, kill, scale).
/// - `admin`: every route of the client API, cluster membership and agent drains included.
/// - `agent`: only the agent protocol (`register`, `heartbeat`), and only as its own agent id
///   unless the token's name is `*`.
/// - `peer`: what masters present to each other (the Raft peer port). Never a client's, and
///   never an agent's: an agent refuses to start with one in its token file.
/// - `master`: what the masters present to agents (the agent's API). Opens nothing on a master,
///   so an agent host that is taken over holds no credential that speaks Raft.
public enum TokenRole: String, Sendable, CaseIterable, Hashable {
    case read, submit, admin, agent, peer, master
}

/// Who made a request: the role and name of the token it carried.
public struct Principal: Sendable, Equatable {
    public var role: TokenRole
    /// The token's name from the token file (an operator, a CI system, an agent id, `*`).
    public var name: String

    public init(role: TokenRole, name: String) {
        self.role = role
        self.name = name
    }

    /// The name that lets an agent token act as any agent.
    public static let anyAgent = "*"
}

/// What a route requires of its caller.
public enum Access: Sendable, Equatable, CustomStringConvertible {
    /// No token needed (health and readiness probes).
    case open
    /// A valid token with one of these roles.
    case roles(Set<TokenRole>)

    /// Reads: `read`, `submit` or `admin`.
    public static let read = Access.roles([.read, .submit, .admin])
    /// Job and task writes: `submit` or `admin`.
    public static let submit = Access.roles([.submit, .admin])
    public static let admin = Access.roles([.admin])
    public static let agent = Access.roles([.agent])
    public static let peer = Access.roles([.peer])
    public static let master = Access.roles([.master])

    public func admits(_ role: TokenRole) -> Bool {
        switch self {
        case .open: true
        case .roles(let roles): roles.contains(role)
        }
    }

    public var description: String {
        switch self {
        case .open: "open"
        case .roles(let roles): roles.map(\.rawValue).sorted().joined(separator: "|")
        }
    }
}
