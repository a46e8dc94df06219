import Foundation
import Glibc
import Shared
import Synchronization

/// The local agent `fuller-master dev` runs: the `fuller-agent` binary next to this one, as a
/// child process, restarted (after a pause) if it dies, stopped with SIGTERM on the way out.
/// SIGTERM leaves its containers running; the next `dev` run adopts them. The agent watches its
/// parent (`--exit-with-parent`), so a master killed with SIGKILL does not leave it behind.
final class DevAgent: Sendable {
    static let flags: [Flag] = [
        Flag("agent-api", .string, default: .string("127.0.0.1:4710"), help: "The local agent's API address.", valueName: "HOST:PORT"),
        Flag("metadata", .string, default: .string("bridge:4711"),
             help: "The local agent's container metadata endpoint (`bridge`: the Docker bridge's gateway).", valueName: "HOST:PORT"),
        Flag("docker-socket", .string, default: .string("/var/run/docker.sock"), help: "Docker Engine API socket.", valueName: "PATH"),
        Flag("agent", .bool, default: .bool(true), help: "Start the local agent (--no-agent: master only)."),
        Flag("agent-host-mount-allow", .list, help: "Host path prefixes the local agent lets task containers mount (its --host-mount-allow).",
             valueName: "PATHS"),
    ]

    private struct State {
        var process: Process?
        var stopping = false
    }

    private let state = Mutex(State())
    private let arguments: [String]
    private let executable: URL
    private let logger: Logger

    /// The agent's credential, passed in its environment (never on its command line).
    private let token: String?

    private init(executable: URL, arguments: [String], token: String?, logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        self.token = token
        self.logger = logger
    }

    static func start(_ args: ParsedArguments, masterURL: String, dataDirectory: String, token: String?,
                      logger: Logger) throws -> DevAgent? {
        guard args.bool("agent") else { return nil }
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("fuller-agent")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw UsageError(message: "cannot find fuller-agent next to fuller-master (\(binary.path)); build both, or pass --no-agent")
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let agent = DevAgent(executable: binary, arguments: [
            "--id", "dev-agent", "--masters", masterURL, "--data-dir", dataDirectory,
            "--api", args.string("agent-api") ?? "127.0.0.1:4710", "--metadata", args.string("metadata") ?? "bridge:4711",
            "--docker-socket", args.string("docker-socket") ?? "/var/run/docker.sock",
            "--exit-with-parent", String(getpid()),
        ] + policyArguments(args), token: token, logger: logger)
        try agent.launch()
        return agent
    }

    /// The master's `--allow-privileged` and `--allow-docker-socket` hold for the local agent too
    /// (it re-checks them on its own), and `--agent-host-mount-allow` becomes its allow-list.
    static func policyArguments(_ args: ParsedArguments) -> [String] {
        var arguments: [String] = []
        if args.bool("allow-privileged") { arguments.append("--allow-privileged") }
        if args.bool("allow-docker-socket") { arguments.append("--allow-docker-socket") }
        let prefixes = args.list("agent-host-mount-allow")
        if !prefixes.isEmpty { arguments += ["--host-mount-allow", prefixes.joined(separator: ",")] }
        return arguments
    }

    private func launch() throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        // The master's own token settings are not the agent's: it gets its credential only.
        environment["FULLER_TOKEN_FILE"] = nil
        environment["FULLER_TOKEN"] = token
        process.environment = environment
        process.terminationHandler = { [self] p in exited(p.terminationStatus) }
        state.withLock { $0.process = process }
        try process.run()
        logger.info("local agent started", ["pid": .int(Int64(process.processIdentifier))])
    }

    private func exited(_ status: Int32) {
        guard !state.withLock({ $0.stopping }) else { return }
        guard status != AgentExitStatus.lockHeld else {
            return logger.error("local agent refused to start: another agent holds its data directory; not restarting it",
                                ["status": .int(Int64(status))])
        }
        logger.error("local agent exited; restarting in 2 s", ["status": .int(Int64(status))])
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(2)) { [self] in
            guard !state.withLock({ $0.stopping }) else { return }
            do { try launch() } catch { logger.error("cannot restart the local agent", ["error": .string("\(error)")]) }
        }
    }

    /// SIGTERM, then up to 10 s for it to exit, then SIGKILL.
    func stop() {
        guard let process = state.withLock({ s -> Process? in s.stopping = true; return s.process }), process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
