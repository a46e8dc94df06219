/// IMDSv2 session tokens: each bound to the task and container that asked for it, with its
/// own expiry. Pure: time comes in as `now` (a monotonic offset), tokens as strings the shell
/// drew from a secure random source.
///
/// Bounds: at most `perTaskMax` tokens per task; a task over it loses its expired tokens first,
/// then its oldest. A task's tokens go when it stops (`drop`), so a container that later gets
/// the same IP cannot use them.
struct MetadataTokens: Sendable {
    struct Grant: Sendable, Equatable {
        var taskId: String
        var containerId: String
        var expires: Duration
    }

    let perTaskMax: Int
    private(set) var grants: [String: Grant] = [:]
    /// Each task's tokens in the order they were issued.
    private var issued: [String: [String]] = [:]

    init(perTaskMax: Int = 128) {
        precondition(perTaskMax > 0)
        self.perTaskMax = perTaskMax
    }

    mutating func issue(_ token: String, to identity: TaskIdentity, ttl: Duration, now: Duration) {
        var list = issued[identity.taskId] ?? []
        if list.count >= perTaskMax {
            let expired = list.filter { grants[$0].map { $0.expires <= now } ?? true }
            for token in expired { grants[token] = nil }
            list.removeAll { grants[$0] == nil }
        }
        while list.count >= perTaskMax { grants[list.removeFirst()] = nil }
        list.append(token)
        issued[identity.taskId] = list
        grants[token] = Grant(taskId: identity.taskId, containerId: identity.containerId, expires: now + ttl)
    }

    /// The time `token` has left, or nil when it is unknown, expired, or another container's.
    func remaining(_ token: String, for identity: TaskIdentity, now: Duration) -> Duration? {
        guard let grant = grants[token], grant.taskId == identity.taskId, grant.containerId == identity.containerId,
              grant.expires > now else { return nil }
        return grant.expires - now
    }

    /// Forgets every token of `taskId`.
    mutating func drop(taskId: String) {
        for token in issued.removeValue(forKey: taskId) ?? [] { grants[token] = nil }
    }

    func count(taskId: String) -> Int { issued[taskId]?.count ?? 0 }
}
