import Dispatch
import Model
import Raft
import Shared
import Synchronization

/// Who leads, as the API needs to know it: a single master always does; in a group, the Raft
/// status says.
final class Leadership: Sendable {
    /// nil for a single master.
    let cluster: RaftCluster?
    let selfName: String
    /// A master whose storage failed leads nothing and is never ready.
    let health: StorageHealth?
    private let apiAddress = Mutex("")

    init(cluster: RaftCluster?, selfName: String, health: StorageHealth? = nil) {
        self.cluster = cluster
        self.selfName = selfName
        self.health = health
    }

    func setAPIAddress(_ address: String) { apiAddress.withLock { $0 = address } }

    var isLeader: Bool {
        if health?.failed != nil { return false }
        guard let c = cluster else { return true }
        return c.replicator.status.role == .leader
    }

    /// The leader's client API address (`host:port`), nil while none is known.
    var leaderAPI: String? {
        guard let c = cluster else { return apiAddress.withLock { $0 } }
        let leader = c.replicator.status.leader
        return leader == 0 ? nil : c.apiAddress(of: leader)
    }

    /// Ready to serve: a leader is known and this master has applied all it knows committed.
    var isReady: Bool {
        if health?.failed != nil { return false }
        guard let c = cluster else { return true }
        let s = c.replicator.status
        return s.leader != 0 && s.applied >= s.commit
    }

    /// `GET /v1/cluster`.
    func clusterJSON(appliedIndex: UInt64) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("members")
        w.beginArray()
        switch cluster {
        case nil:
            member(&w, id: selfName, role: "leader", api: apiAddress.withLock { $0 })
            w.endArray()
            w.field("leader", selfName)
            w.field("term", 0)
            w.field("commitIndex", appliedIndex)
            w.field("appliedIndex", appliedIndex)
        case let c?:
            let s = c.replicator.status
            let peers = c.directory.addresses
            let members = (s.voters + s.learners).map { ($0, c.name(of: $0) ?? String($0)) }.sorted { $0.1 < $1.1 }
            for (id, name) in members {
                let role = s.learners.contains(id) ? "learner"
                    : id == s.leader ? "leader" : id == c.selfID ? s.role.rawValue : "follower"
                member(&w, id: name, role: role, api: c.apiAddress(of: id), peer: peers[name],
                       match: s.matchIndexes[id], lag: s.matchIndexes[id].map { s.lastIndex - min($0, s.lastIndex) })
            }
            w.endArray()
            if let name = c.name(of: s.leader) { w.field("leader", name) } else { w.key("leader"); w.null() }
            w.field("self", selfName)
            w.field("term", s.term)
            w.field("commitIndex", s.commit)
            w.field("appliedIndex", s.applied)
        }
        w.endObject()
        return w.bytes
    }

    /// `matchIndex` and `lag` (entries behind the leader's log) are known to the leader only.
    private func member(_ w: inout JSONWriter, id: String, role: String, api: String?, peer: String? = nil,
                        match: UInt64? = nil, lag: UInt64? = nil) {
        w.beginObject()
        w.field("id", id)
        w.field("role", role)
        if let api { w.field("apiAddress", api) }
        if let peer { w.field("peerAddress", peer) }
        if let match { w.field("matchIndex", match) }
        if let lag { w.field("lag", lag) }
        w.endObject()
    }
}

/// In front of the router on a replicated master: a follower redirects (307) everything but
/// health, metrics, the cluster view and reads that ask for `stale=true` to the leader, so
/// writes and reads are served by the one master whose store is current.
///
/// On the leader, a read first passes a read-index barrier: a leader that was paused or cut
/// off may still believe it leads after another master took over, and must not answer from
/// its old state. (Writes need no barrier: they are acknowledged only once committed.)
struct LeaderGate: HTTPHandler {
    let router: Router
    let leadership: Leadership

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        if Self.servedAnywhere(request) {
            router.handle(request, respond: respond)
            return
        }
        if leadership.isLeader {
            guard let cluster = leadership.cluster, request.method == .GET || request.method == .HEAD else {
                router.handle(request, respond: respond)
                return
            }
            let router = router
            cluster.replicator.readBarrier { [self] result in
                switch result {
                // Off the Raft thread, which calls this: serving a read may take a while.
                case .success: DispatchQueue.global().async { router.handle(request, respond: respond) }
                case .failure(.notLeader): redirect(request, respond: respond)
                case .failure(let e): respond(e.apiError.response)
                }
            }
            return
        }
        redirect(request, respond: respond)
    }

    /// 307 to the leader, or 503 while none is known.
    private func redirect(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let leader = leadership.leaderAPI, !leadership.isLeader else {
            var r = APIError(.unavailable, "no leader is known yet; retry shortly").response
            r.headers.set("Retry-After", "1")
            respond(r)
            return
        }
        var r = APIError(Code.redirect, "this master is a follower; the leader is \(leader)").response
        r.headers.set("Location", "http://\(leader)\(request.target)")
        respond(r)
    }

    static func servedAnywhere(_ request: HTTPRequest) -> Bool {
        switch request.path {
        case "/healthz", "/readyz", "/metrics", "/v1/cluster": return true
        default: return request.method == .GET && request.queryValue("stale") == "true"
        }
    }

    private typealias Code = APIError.Code
}

extension APIError.Code {
    /// 307 to the leader, with an envelope saying so.
    static let redirect = APIError.Code("not_leader", status: 307)
}
