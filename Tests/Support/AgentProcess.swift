import Foundation
import Glibc

/// A real `fuller-agent` process for end-to-end tests: a unique `--id`, a temporary `--data-dir`,
/// an API on a free loopback port, and short orphan and stop graces. It can be killed for real
/// and started again with the same id and data directory, as an operator's restart would.
public final class AgentProcess: @unchecked Sendable {
    // @unchecked: the process and log are only touched by the test that owns this object.
    public let id: String
    public let dataDirectory: String
    public let arguments: [String]
    /// Added to the inherited environment (e.g. `FULLER_TOKEN`, which keeps the token off the command line).
    public let environment: [String: String]
    public private(set) var process = Process()
    public private(set) var port = 0
    private var log: ChildProcessLog?

    /// The built `fuller-agent` next to the test bundle.
    public static var binary: String { BuiltProduct.path("fuller-agent") }

    /// A fresh id, unique on this machine, so tests sharing one Docker daemon never see each
    /// other's containers (the agent lists and adopts only those labelled with its id).
    public static func uniqueId(_ prefix: String = "e2e") -> String {
        "\(prefix)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    public init(id: String = AgentProcess.uniqueId(), masters: [String], dataDirectory: String,
                dockerSocket: String = "/var/run/docker.sock", orphanGrace: String = "2s", stopGrace: String = "1s",
                extraArguments: [String] = [], environment: [String: String] = [:],
                startupTimeout: Duration = .seconds(20)) throws {
        self.id = id
        self.environment = environment
        self.dataDirectory = dataDirectory
        arguments = ["--id", id, "--masters", masters.joined(separator: ","), "--data-dir", dataDirectory,
                     "--api", "127.0.0.1:0", "--metadata", "127.0.0.1:0", "--docker-socket", dockerSocket,
                     "--orphan-grace", orphanGrace, "--stop-grace", stopGrace] + extraArguments
        try start(timeout: startupTimeout)
    }

    /// Starts the agent (again: same id, same data directory, a new port) and waits for its API.
    public func start(timeout: Duration = .seconds(20)) throws {
        precondition(!process.isRunning, "the agent is already running")
        let pipe = Pipe()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let log = ChildProcessLog(pipe)
        self.log = log
        try process.run()
        port = try log.waitForPort(marker: "agent serving", deadline: .now + timeout)
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// What the agent logged lately (its standard error), for failure messages.
    public var recentLog: String { log?.contents ?? "" }

    public func kill(_ signal: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// SIGKILL, then start again with the same id and data directory.
    public func restart(timeout: Duration = .seconds(20)) throws {
        kill(SIGKILL)
        try start(timeout: timeout)
    }

    deinit { if process.isRunning { kill() } }
}
