import Model

/// The text format of scheduler scenario files and of `fuller-master simulate`'s cluster and
/// workload files (docs/scheduler.md). One command a line; `#` starts a comment.
///
///     config fitness=binpack goodEnough=0.9 reserve=prod=8/8192 flexMayUseReserved=true
///     add-host h1 cpu=4 mem=8192 zone=a machineType=m5 rack=r1 [drain]
///     add-hosts h 100 cpu=8 mem=8000 zone=b          # h1 … h100
///     submit web count=3 cpu=1 mem=1024 tier=critical group=prod hard=uniqueHost=true soft=zoneBalance=true
///     submit web from=4 count=1 cpu=1 mem=1024 …       # more tasks of the same job: web-4
///     drain h1
///     schedule
public enum ScenarioCommand: Sendable, Equatable {
    case config(SchedulerConfiguration)
    case addHosts([AgentView])
    case submit([PendingTask])
    /// The host takes nothing new from now on (its tasks stay).
    case drain(String)
    case schedule
}

public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
}

extension ScenarioCommand {
    /// Hosts one `add-hosts` line may add, and tasks one `submit` line may ask for.
    public static let countMax = 1_000_000

    /// Parses a whole file; nil entries for blank and comment lines are dropped.
    public static func parse(_ text: String) throws(ScenarioError) -> [(line: Int, command: ScenarioCommand)] {
        var out: [(Int, ScenarioCommand)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let verb = words.first, !verb.hasPrefix(">") else { continue }
            do throws(ScenarioError) {
                out.append((i + 1, try parse(verb, Array(words.dropFirst()))))
            } catch {
                throw ScenarioError(line: i + 1, message: error.message)
            }
        }
        return out
    }

    private static func parse(_ verb: String, _ words: [String]) throws(ScenarioError) -> ScenarioCommand {
        switch verb {
        case "config": return .config(try configuration(Options(words)))
        case "add-host":
            guard let name = words.first else { throw fail("add-host needs a name") }
            return .addHosts([try host(name, Options(Array(words.dropFirst())))])
        case "add-hosts":
            guard words.count >= 2, let count = Int(words[1]), count > 0, count <= countMax else {
                throw fail("add-hosts needs a prefix and a count (1...\(countMax))")
            }
            let options = Options(Array(words.dropFirst(2)))
            var hosts: [AgentView] = []
            for n in 1...count { hosts.append(try host("\(words[0])\(n)", options)) }
            return .addHosts(hosts)
        case "submit":
            guard let name = words.first else { throw fail("submit needs a job name") }
            return .submit(try tasks(name, Options(Array(words.dropFirst()))))
        case "drain":
            guard words.count == 1 else { throw fail("drain needs one host name") }
            return .drain(words[0])
        case "schedule": return .schedule
        default: throw fail("unknown command \"\(verb)\"")
        }
    }

    private static func host(_ name: String, _ o: Options) throws(ScenarioError) -> AgentView {
        let total = Resources(cpu: try o.double("cpu") ?? 0, memoryMB: try o.int("mem") ?? 0, diskMB: try o.int("disk") ?? 0,
                              networkMbps: try o.int("net") ?? 0)
        guard total.cpu > 0, total.memoryMB > 0 else { throw fail("host \(name) needs cpu= and mem=") }
        var attributes = o.rest(excluding: ["cpu", "mem", "disk", "net"])
        attributes["hostname"] = name
        return AgentView(id: name, attributes: attributes, total: total, schedulable: !o.flags.contains("drain"))
    }

    private static func tasks(_ job: String, _ o: Options) throws(ScenarioError) -> [PendingTask] {
        let count = try o.int("count") ?? 1
        guard count > 0, count <= countMax else { throw fail("count must be 1...\(countMax)") }
        let resources = Resources(cpu: try o.double("cpu") ?? 0, memoryMB: try o.int("mem") ?? 0,
                                  diskMB: try o.int("disk") ?? 0, networkMbps: try o.int("net") ?? 0)
        guard let tier = Tier(rawValue: o.values["tier"] ?? "flex") else { throw fail("tier must be critical or flex") }
        let constraints = Constraints(hard: try o.map("hard"), soft: try o.map("soft"))
        for name in Array(constraints.hard.keys) + Array(constraints.soft.keys) where !Constraints.isKnown(name) {
            throw fail("unknown constraint \"\(name)\"")
        }
        let size = try o.int("size") ?? count
        let first = try o.int("from") ?? 1
        return (first..<first + count).map { n in
            PendingTask(id: "\(job)-\(n)", jobId: job, resources: resources, tier: tier,
                        capacityGroup: o.values["group"] ?? "default", constraints: constraints, jobSize: size)
        }
    }

    private static func configuration(_ o: Options) throws(ScenarioError) -> SchedulerConfiguration {
        var c = SchedulerConfiguration()
        if let text = o.values["fitness"] {
            guard let fitness = Fitness.parse(text) else { throw fail("bad fitness \"\(text)\"") }
            c.fitness = fitness
        }
        c.goodEnough = try o.double("goodEnough")
        c.softConstraintWeight = try o.double("softWeight") ?? c.softConstraintWeight
        c.flexMayUseReserved = o.values["flexMayUseReserved"] == "true"
        for text in o.all("reserve") {
            guard let (group, resources) = Reservation.parse(text) else { throw fail("bad reservation \"\(text)\"") }
            c.reservations[group] = resources
        }
        return c
    }

    static func fail(_ message: String) -> ScenarioError { ScenarioError(line: 0, message: message) }
}

/// `NAME=CPU/MEMORY_MB`, e.g. `prod=8/8192`: the cores and memory a capacity group keeps for
/// its own jobs (scenario `reserve=` and the master's `--capacity-group`).
public enum Reservation {
    public static func parse(_ text: String) -> (String, Resources)? {
        let pair = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2, !pair[0].isEmpty else { return nil }
        let amounts = pair[1].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard amounts.count == 2, let cpu = Double(amounts[0]), cpu >= 0, cpu.isFinite,
              let memoryMB = Int(amounts[1]), memoryMB >= 0 else { return nil }
        return (pair[0], Resources(cpu: cpu, memoryMB: memoryMB))
    }
}

/// `key=value` words and bare flags of one scenario line.
private struct Options {
    var values: [String: String] = [:]
    var pairs: [(String, String)] = []
    var flags: Set<String> = []

    init(_ words: [String]) {
        for word in words {
            guard let eq = word.firstIndex(of: "=") else { flags.insert(word); continue }
            let key = String(word[..<eq]), value = String(word[word.index(after: eq)...])
            values[key] = value
            pairs.append((key, value))
        }
    }

    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

    func int(_ key: String) throws(ScenarioError) -> Int? {
        guard let text = values[key] else { return nil }
        guard let v = Int(text), v >= 0 else { throw ScenarioCommand.fail("\(key) must be a whole number ≥ 0") }
        return v
    }

    func double(_ key: String) throws(ScenarioError) -> Double? {
        guard let text = values[key] else { return nil }
        guard let v = Double(text), v >= 0, v.isFinite else { throw ScenarioCommand.fail("\(key) must be a number ≥ 0") }
        return v
    }

    /// `hard=uniqueHost=true,availabilityZone=a` → ["uniqueHost": "true", "availabilityZone": "a"].
    func map(_ key: String) throws(ScenarioError) -> [String: String] {
        var out: [String: String] = [:]
        for text in all(key) {
            for item in text.split(separator: ",") {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { throw ScenarioCommand.fail("\(key) wants name=value pairs") }
                out[pair[0]] = pair[1]
            }
        }
        return out
    }

    func rest(excluding: Set<String>) -> [String: String] { values.filter { !excluding.contains($0.key) } }
}
