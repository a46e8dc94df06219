import Model

/// A job's constraints compiled once per run into what the search checks.
///
/// Two levels, cheapest first: class rules (zone, machine type, machine group, zoneBalance) judge
/// a whole agent class at once; agent rules (uniqueHost, exclusiveHost, hostAttribute) judge one
/// agent. Hard rules refuse, under the constraint's name; soft rules score 0 or 1 (zoneBalance:
/// how far below its even share a zone is), averaged into the soft part of an agent's score.
struct PlacementRules: Sendable {
    enum Attribute: String, Sendable { case zone = "availabilityZone", machineType, machineGroup }

    enum Rule: Sendable {
        case classAttribute(Attribute, String)
        case zoneBalance
        case uniqueHost
        case exclusiveHost
        case hostAttribute(key: String, value: String)

        var name: String {
            switch self {
            case .classAttribute(let attribute, _): attribute.rawValue
            case .zoneBalance: "zoneBalance"
            case .uniqueHost: "uniqueHost"
            case .exclusiveHost: "exclusiveHost"
            case .hostAttribute(let key, _): Constraints.hostAttributePrefix + key
            }
        }

        var isAgentLevel: Bool {
            switch self {
            case .uniqueHost, .exclusiveHost, .hostAttribute: true
            case .classAttribute, .zoneBalance: false
            }
        }
    }

    var hard: [Rule] = []
    var soft: [Rule] = []

    init(_ constraints: Constraints) {
        hard = Self.compile(constraints.hard)
        soft = Self.compile(constraints.soft)
    }

    var isEmpty: Bool { hard.isEmpty && soft.isEmpty }
    var hasAgentSoft: Bool { soft.contains { $0.isAgentLevel } }
    /// Whether the job's own placements matter (which agents, which zones).
    var tracksJob: Bool { (hard + soft).contains { if case .uniqueHost = $0 { true } else if case .zoneBalance = $0 { true } else { false } } }
    var exclusiveHard: Bool { hard.contains { if case .exclusiveHost = $0 { true } else { false } } }

    /// Names sorted so the rules run in the same order on every replica and every run.
    private static func compile(_ map: [String: String]) -> [Rule] {
        map.keys.sorted().compactMap { name -> Rule? in
            let value = map[name]!
            switch name {
            case "uniqueHost": return value == "true" ? .uniqueHost : nil
            case "exclusiveHost": return value == "true" ? .exclusiveHost : nil
            case "zoneBalance": return value == "true" ? .zoneBalance : nil
            case "availabilityZone": return .classAttribute(.zone, value)
            case "machineType": return .classAttribute(.machineType, value)
            case "machineGroup": return .classAttribute(.machineGroup, value)
            default:
                guard name.hasPrefix(Constraints.hostAttributePrefix) else { return nil }
                return .hostAttribute(key: String(name.dropFirst(Constraints.hostAttributePrefix.count)), value: value)
            }
        }
    }
}

/// Where a job's unfinished tasks are, for uniqueHost and zoneBalance; kept up to date as the
/// run places more of them.
struct JobPlacementState: Sendable {
    var agents: Set<Int32> = []
    var zoneCounts: [Int]
    /// The most tasks one zone may hold: the job's size over the zones, rounded up.
    var zoneLimit: Int

    init(zoneCount: Int, jobSize: Int) {
        zoneCounts = Array(repeating: 0, count: zoneCount)
        zoneLimit = zoneCount == 0 ? 0 : (max(jobSize, 1) + zoneCount - 1) / zoneCount
    }
}
