/// What the autoscaler remembers about one group between evaluations: its last actions, the
/// agents it asked for and has not seen yet, the agents it drained and the ones it retired.
/// Leader-local and soft: a new leader starts with an empty memory.
struct GroupMemory: Sendable {
    /// Agents asked for by one scale-up and not registered yet.
    struct Expected: Sendable {
        var actionId: UInt64
        var remaining: Int
        var expiresAtMs: Int64
    }

    var lastActionAtMs: Int64?
    var lastFailureAtMs: Int64?
    /// The scale-up or scale-down the provider is running now; one at a time per group.
    var providerAction: UInt64?
    var expected: [Expected] = []
    /// Agents this autoscaler drained, and when.
    var drained: [String: Int64] = [:]
    /// Agents terminated by a scale-down, ignored until the time given.
    var retired: [String: Int64] = [:]
    /// The group's agents at the last evaluation; a new id is an arrival. Nil before the first.
    var seen: Set<String>?
    /// Requested agents that never registered before their scale-up timed out (the latest count).
    var neverArrived = 0

    var expectedCount: Int { expected.reduce(0) { $0 + $1.remaining } }

    /// Drops what no longer holds: expired retirements, drains an operator undid or whose agent
    /// left, and expected agents that arrived or timed out. Arrivals are matched to the oldest
    /// scale-up first.
    mutating func forget(nowMs: Int64, members: [AgentSnapshot]) {
        retired = retired.filter { $0.value > nowMs }
        let draining = Set(members.filter(\.draining).map(\.id))
        drained = drained.filter { draining.contains($0.key) }
        let ids = Set(members.map(\.id))
        if let seen {
            var arrivals = ids.subtracting(seen).count
            for i in expected.indices where arrivals > 0 {
                let k = min(arrivals, expected[i].remaining)
                expected[i].remaining -= k
                arrivals -= k
            }
        }
        seen = ids
        let timedOut = expected.filter { $0.expiresAtMs <= nowMs && $0.actionId != providerAction && $0.remaining > 0 }
        if !timedOut.isEmpty { neverArrived = timedOut.reduce(0) { $0 + $1.remaining } }
        expected.removeAll { $0.remaining <= 0 || ($0.expiresAtMs <= nowMs && $0.actionId != providerAction) }
    }

    mutating func finished(_ action: AutoscalerAction, succeeded: Bool, nowMs: Int64) {
        if providerAction == action.id { providerAction = nil }
        switch action.kind {
        case .scaleUp:
            guard !succeeded else { return }
            expected.removeAll { $0.actionId == action.id }
            lastFailureAtMs = nowMs
        case .scaleDown:
            guard succeeded else { lastFailureAtMs = nowMs; return }
            for id in action.agentIds {
                drained[id] = nil
                retired[id] = nowMs + Autoscaler.retiredMemoryMilliseconds
            }
        case .drain:
            if !succeeded { for id in action.agentIds { drained[id] = nil } }
        case .undrain:
            return
        }
    }

    /// A provider action of the group is running, or the last one failed too recently.
    func providerBlocked(nowMs: Int64, backoffMs: Int64) -> String? {
        if providerAction != nil { return "the provider is still working on the last action" }
        if let failed = lastFailureAtMs, failed + backoffMs > nowMs {
            return "the provider failed; retrying after \(backoffMs / 1_000) s"
        }
        return nil
    }
}
