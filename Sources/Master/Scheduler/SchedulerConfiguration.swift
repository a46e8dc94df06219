import Model

/// How the scheduler ranks agents and shares the cluster. The leader builds it from master flags;
/// `fuller-master simulate` and the scenario files from theirs.
public struct SchedulerConfiguration: Sendable, Equatable {
    public var fitness: Fitness
    /// When set (0...1), the search ends at the first agent scoring at least this much instead of
    /// comparing the best candidate of every agent class.
    public var goodEnough: Double?
    /// The share of an agent's score that soft constraints decide (the rest is fitness), 0...1.
    public var softConstraintWeight: Double
    /// Resources each capacity group keeps for its own jobs, across the cluster.
    public var reservations: [String: Resources]
    /// Whether flex-tier tasks of other groups may use a group's idle reservation.
    public var flexMayUseReserved: Bool
    /// With per-agent soft constraints, at most this many fitting agents of a class are scored.
    public var softCandidatesMax: Int

    public init(fitness: Fitness = .binPacking(cpu: 1, memory: 1, network: 0), goodEnough: Double? = nil,
                softConstraintWeight: Double = 0.5, reservations: [String: Resources] = [:],
                flexMayUseReserved: Bool = false, softCandidatesMax: Int = 32) {
        self.fitness = fitness
        self.goodEnough = goodEnough
        self.softConstraintWeight = softConstraintWeight
        self.reservations = reservations
        self.flexMayUseReserved = flexMayUseReserved
        self.softCandidatesMax = softCandidatesMax
    }
}

/// Fenzo's resource fitness: for each resource, the fraction of the agent in use once the task
/// is placed, combined as a weighted mean. Bin-packing prefers the fullest agent (fewer agents
/// busy, whole agents left for big tasks); spreading prefers the emptiest (1 − that fraction).
public struct Fitness: Sendable, Equatable {
    public enum Direction: String, Sendable { case binPacking, spreading }
    public var direction: Direction
    public var cpuWeight: Double
    public var memoryWeight: Double
    public var networkWeight: Double

    public static func binPacking(cpu: Double, memory: Double, network: Double) -> Fitness {
        Fitness(direction: .binPacking, cpuWeight: cpu, memoryWeight: memory, networkWeight: network)
    }

    public static func spreading(cpu: Double, memory: Double, network: Double) -> Fitness {
        Fitness(direction: .spreading, cpuWeight: cpu, memoryWeight: memory, networkWeight: network)
    }

    /// Parses `binpack`, `spread`, `binpack:cpu`, `binpack:cpu=2,memory=1,network=1`, …; nil if
    /// the text is not one of those or every weight is zero.
    public static func parse(_ text: String) -> Fitness? {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let direction: Direction
        switch parts.first {
        case "binpack": direction = .binPacking
        case "spread": direction = .spreading
        default: return nil
        }
        guard parts.count == 2 else { return Fitness(direction: direction, cpuWeight: 1, memoryWeight: 1, networkWeight: 0) }
        var fitness = Fitness(direction: direction, cpuWeight: 0, memoryWeight: 0, networkWeight: 0)
        for item in parts[1].split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
            let weight = pair.count == 2 ? Double(pair[1]) : 1
            guard let weight, weight >= 0, weight <= 1_000 else { return nil }
            switch pair[0] {
            case "cpu": fitness.cpuWeight = weight
            case "memory": fitness.memoryWeight = weight
            case "network": fitness.networkWeight = weight
            default: return nil
            }
        }
        return fitness.weightSum > 0 ? fitness : nil
    }

    var weightSum: Double { cpuWeight + memoryWeight + networkWeight }

    /// The score of putting `request` on an agent with `total` and `free`, in 0...1.
    func score(total: Resources, free: Resources, request: Resources) -> Double {
        var sum = 0.0
        sum += cpuWeight * Self.usedFraction(total.cpu, free.cpu, request.cpu)
        sum += memoryWeight * Self.usedFraction(Double(total.memoryMB), Double(free.memoryMB), Double(request.memoryMB))
        sum += networkWeight * Self.usedFraction(Double(total.networkMbps), Double(free.networkMbps), Double(request.networkMbps))
        let packed = sum / weightSum
        return direction == .binPacking ? packed : 1 - packed
    }

    /// An agent without a resource counts as full of it: it neither helps nor hurts the choice.
    private static func usedFraction(_ total: Double, _ free: Double, _ request: Double) -> Double {
        total > 0 ? min(1, max(0, (total - free + request) / total)) : 1
    }
}
