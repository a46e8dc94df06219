/// Which idle agents a scale-down drains: each pick comes from the zone that keeps the most
/// agents of the group (ties by zone name), so the zones stay balanced as the group shrinks;
/// within a zone the longest-registered agent goes first (so a rolling image update replaces
/// old agents first).
enum ScaleDownChoice {
    static func pick(_ count: Int, from candidates: [AgentSnapshot], members: [AgentSnapshot],
                     drained: Set<String>) -> [AgentSnapshot] {
        var perZone: [String: Int] = [:]
        for agent in members where !drained.contains(agent.id) { perZone[agent.zone ?? "", default: 0] += 1 }
        var left = candidates.sorted { ($0.registeredAtMs, $0.id) < ($1.registeredAtMs, $1.id) }
        var picked: [AgentSnapshot] = []
        while picked.count < count, !left.isEmpty {
            let zones = Set(left.map { $0.zone ?? "" })
            let zone = zones.max { (perZone[$0] ?? 0, $1) < (perZone[$1] ?? 0, $0) }!
            let index = left.firstIndex { ($0.zone ?? "") == zone }!
            picked.append(left.remove(at: index))
            perZone[zone, default: 0] -= 1
        }
        return picked
    }
}
