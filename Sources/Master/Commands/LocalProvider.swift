import Foundation
import Glibc
import Model
import Shared

/// `fuller-master local-provider`: the autoscaler provider for one host. A scale-up starts
/// `fuller-agent` processes (each in a session of its own, a fresh data directory, loopback
/// ports picked by the kernel, the group's zone and resources); a scale-down stops them with
/// SIGTERM (SIGKILL after 15 s). `fuller-master dev --autoscale` and the tests use it.
///
/// State, under `--state-dir`: `agents/ID/{pid,zone,group,agent.log,data/}`, a marker
/// `stopped` (scaled down: the id is never used again) or `parked` (stopped by `stop-all` when
/// dev exits: the next scale-up starts it again with the same id and data, so it adopts its
/// containers), `next-number`, and `requests/REQUEST-ID.json` (a retried call with the same
/// `FULLER_REQUEST_ID` gets the first answer instead of more agents).
enum LocalProvider {
    static let command = CommandSpec("local-provider", summary: "The autoscaler's local provider: fuller-agent processes on this host.", flags: [
        Flag("state-dir", .string, required: true, help: "Where the agents' data, logs and pids live.", valueName: "DIR"),
        Flag("agent-binary", .string, help: "The fuller-agent executable (default: next to fuller-master).", valueName: "PATH"),
        Flag("master-url", .list, default: .list(["http://127.0.0.1:4700"]), help: "The masters the agents register with.", valueName: "URLS"),
        Flag("docker-socket", .string, default: .string("/var/run/docker.sock"), help: "Docker Engine API socket.", valueName: "PATH"),
        Flag("agent-cpu", .double, default: .double(2), help: "Cores each agent offers."),
        Flag("agent-memory-mb", .int, default: .int(2_048), help: "Memory each agent offers."),
        Flag("agent-zones", .list, help: "Zones to spread the agents over (fewest agents first).", valueName: "LIST"),
        Flag("agent-machine-type", .string, help: "The agents' machineType attribute."),
        Flag("agent-args", .string, help: "More fuller-agent arguments, separated by spaces.", valueName: "ARGS"),
        Flag("id-prefix", .string, help: "Prefix of every agent id (keeps ids unique across hosts)."),
        Flag("request-id", .string, help: "Makes a repeated call return the first answer.", valueName: "ID"),
    ], subcommands: [
        CommandSpec("scale-up", summary: "Start COUNT agents of GROUP.", positionals: [
            Positional("GROUP", help: "The agent group (machineGroup)."), Positional("COUNT", help: "How many agents."),
        ]),
        CommandSpec("scale-down", summary: "Stop these agents of GROUP.", positionals: [
            Positional("GROUP", help: "The agent group."), Positional("AGENT-ID", help: "The agents to stop.", variadic: true),
        ]),
        CommandSpec("stop-all", summary: "Stop every agent (they restart, with the same ids, on the next scale-up)."),
    ])

    /// How long a new agent has to log that it serves.
    static let startTimeout: Duration = .seconds(15)
    static let stopGrace: Duration = .seconds(15)
    static let countMax = 100

    static func run(_ args: ParsedArguments) -> Int32 {
        let dir = args.string("state-dir")!
        let reply: Reply
        switch args.commandPath.last {
        case "scale-up":
            guard let count = Int(args.positionals[1]), (1...countMax).contains(count) else {
                return answer(Reply(ok: false, agents: [], message: "COUNT must be 1 to \(countMax)"))
            }
            if let id = args.string("request-id"), let earlier = try? Data(contentsOf: URL(fileURLWithPath: "\(dir)/requests/\(id).json")) {
                print(String(decoding: earlier, as: UTF8.self))
                return 0
            }
            reply = scaleUp(group: args.positionals[0], count: count, args: args)
            if reply.ok, let id = args.string("request-id") { save(reply, to: "\(dir)/requests/\(id).json") }
        case "scale-down":
            reply = scaleDown(Array(args.positionals.dropFirst()), dir: dir, marker: "stopped")
        default:
            reply = scaleDown(agentIds(in: dir).filter { state(of: $0, dir: dir) == .running }, dir: dir, marker: "parked")
        }
        return answer(reply)
    }

    struct Reply {
        var ok: Bool
        var agents: [String]
        var message: String?

        var json: String {
            var w = JSONWriter()
            w.beginObject()
            w.field("ok", ok)
            w.key("agents"); w.stringArray(agents)
            if let message { w.field("message", message) }
            w.endObject()
            return String(decoding: w.bytes, as: UTF8.self)
        }
    }

    private static func answer(_ reply: Reply) -> Int32 {
        print(reply.json)
        return reply.ok ? 0 : 1
    }

    private static func save(_ reply: Reply, to path: String) {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? Data(reply.json.utf8).write(to: url, options: .atomic)
    }

    // MARK: Scale-up

    static func scaleUp(group: String, count: Int, args: ParsedArguments) -> Reply {
        let dir = args.string("state-dir")!
        let binary = args.string("agent-binary") ?? Self.siblingAgent()
        var started: [String] = []
        var parked = agentIds(in: dir).filter { state(of: $0, dir: dir) == .parked && read("\(dir)/agents/\($0)/group") == group }
        do {
            for _ in 0..<count {
                let id = parked.isEmpty ? try newId(group: group, args: args) : parked.removeFirst()
                let zone = read("\(dir)/agents/\(id)/zone") ?? pickZone(args.list("agent-zones"), group: group, dir: dir)
                try start(id, group: group, zone: zone, binary: binary, args: args)
                started.append(id)
            }
            for id in started { try waitServing(id, dir: dir) }
        } catch {
            _ = scaleDown(started, dir: dir, marker: "stopped")
            return Reply(ok: false, agents: [], message: "\(error)")
        }
        return Reply(ok: true, agents: started, message: "started \(started.count) agent(s)")
    }

    private static func newId(group: String, args: ParsedArguments) throws -> String {
        let dir = args.string("state-dir")!
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let number = (Int(read("\(dir)/next-number") ?? "") ?? 1)
        try Data(String(number + 1).utf8).write(to: URL(fileURLWithPath: "\(dir)/next-number"), options: .atomic)
        return "\(args.string("id-prefix") ?? "")\(group)-\(number)"
    }

    /// The zone with the fewest running agents of the group (ties: listed order).
    private static func pickZone(_ zones: [String], group: String, dir: String) -> String? {
        guard !zones.isEmpty else { return nil }
        var counts = Dictionary(uniqueKeysWithValues: zones.map { ($0, 0) })
        for id in agentIds(in: dir) where state(of: id, dir: dir) == .running && read("\(dir)/agents/\(id)/group") == group {
            if let zone = read("\(dir)/agents/\(id)/zone"), counts[zone] != nil { counts[zone]! += 1 }
        }
        return zones.min { counts[$0]! < counts[$1]! }
    }

    private static func start(_ id: String, group: String, zone: String?, binary: String, args: ParsedArguments) throws {
        let home = "\(args.string("state-dir")!)/agents/\(id)"
        try FileManager.default.createDirectory(atPath: home + "/data", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: home + "/parked")
        var argv = [binary, "--id", id, "--masters", args.list("master-url").joined(separator: ","), "--data-dir", home + "/data",
                    "--api", "127.0.0.1:0", "--metadata", "127.0.0.1:0",
                    "--docker-socket", args.string("docker-socket") ?? "/var/run/docker.sock",
                    "--machine-group", group, "--cpu", String(args.double("agent-cpu") ?? 2),
                    "--memory-mb", String(args.int("agent-memory-mb") ?? 2_048)]
        if let zone { argv += ["--zone", zone] }
        if let type = args.string("agent-machine-type"), !type.isEmpty { argv += ["--machine-type", type] }
        argv += (args.string("agent-args") ?? "").split(separator: " ").map(String.init)
        let log = open(home + "/agent.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw ProviderError("cannot open \(home)/agent.log") }
        defer { close(log) }
        // The agent reads FULLER_* as its flags: it gets none of the master's or the provider's.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FULLER_") }
        let pid = try ChildProcess.spawn(argv, environment: environment, stdout: log, stderr: log, newSession: true)
        try Data(String(pid).utf8).write(to: URL(fileURLWithPath: home + "/pid"), options: .atomic)
        try Data(group.utf8).write(to: URL(fileURLWithPath: home + "/group"), options: .atomic)
        if let zone { try Data(zone.utf8).write(to: URL(fileURLWithPath: home + "/zone"), options: .atomic) }
    }

    private static func waitServing(_ id: String, dir: String) throws {
        let home = "\(dir)/agents/\(id)"
        let deadline = ContinuousClock.now + startTimeout
        let marker = Data(#""agent serving""#.utf8)
        while ContinuousClock.now < deadline {
            if let log = FileManager.default.contents(atPath: home + "/agent.log"), log.range(of: marker) != nil { return }
            guard let pid = pid(of: id, dir: dir), alive(pid) else {
                throw ProviderError("agent \(id) exited during start-up: \(read(home + "/agent.log")?.suffix(400) ?? "")")
            }
            usleep(50_000)
        }
        throw ProviderError("agent \(id) did not start serving within \(startTimeout)")
    }

    // MARK: Scale-down

    static func scaleDown(_ ids: [String], dir: String, marker: String) -> Reply {
        var unknown: [String] = []
        for id in ids {
            let home = "\(dir)/agents/\(id)"
            guard FileManager.default.fileExists(atPath: home + "/group") else { unknown.append(id); continue }
            if state(of: id, dir: dir) == .running, let pid = pid(of: id, dir: dir) { stop(pid) }
            if marker == "stopped" { try? FileManager.default.removeItem(atPath: home + "/data") }
            _ = FileManager.default.createFile(atPath: "\(home)/\(marker)", contents: nil)
        }
        guard unknown.isEmpty else {
            return Reply(ok: false, agents: ids.filter { !unknown.contains($0) }, message: "no local agent \(unknown.joined(separator: ", "))")
        }
        return Reply(ok: true, agents: ids, message: "stopped \(ids.count) agent(s)")
    }

    /// SIGTERM, up to `stopGrace` to exit, then SIGKILL.
    private static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + stopGrace
        while alive(pid) && ContinuousClock.now < deadline { usleep(20_000) }
        if alive(pid) { kill(pid, SIGKILL) }
        while alive(pid) && ContinuousClock.now < deadline + .seconds(5) { usleep(20_000) }
    }

    // MARK: State

    enum AgentState { case running, parked, stopped }

    static func agentIds(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/agents")) ?? []).sorted()
    }

    static func state(of id: String, dir: String) -> AgentState {
        let home = "\(dir)/agents/\(id)"
        if FileManager.default.fileExists(atPath: home + "/stopped") { return .stopped }
        if FileManager.default.fileExists(atPath: home + "/parked") { return .parked }
        guard let pid = pid(of: id, dir: dir), alive(pid) else { return .parked }
        return .running
    }

    /// The agent's pid, if that process is still this agent (pids are reused).
    static func pid(of id: String, dir: String) -> pid_t? {
        guard let pid = read("\(dir)/agents/\(id)/pid").flatMap({ pid_t($0) }),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
              cmdline.range(of: Data("--id\u{0}\(id)\u{0}".utf8)) != nil else { return nil }
        return pid
    }

    /// Running, and not a zombie (an agent whose provider exited is reaped by whoever adopted it).
    static func alive(_ pid: pid_t) -> Bool {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].first
        return state != "Z" && state != "X"
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func siblingAgent() -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("fuller-agent").path
    }

    struct ProviderError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
