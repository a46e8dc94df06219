import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Shared

/// How long an agent lives: no longer than the `fuller-master dev` that started it, and never
/// beside another agent on the same data directory. Neither needs Docker (the socket is absent).
@Suite(.serialized) struct AgentLifetimeEndToEndTests {
    /// How long an orphaned dev agent may outlive its master: the parent check's interval plus
    /// a shutdown with no Docker and no containers, on a loaded machine.
    static let orphanExitMax: Duration = .seconds(5)

    @Test(.timeLimit(.minutes(1)))
    func theDevAgentExitsWhenItsMasterIsKilled() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let dev = try MasterProcess(dataDirectory: dir.path + "/dev", extraArguments: [
            "--fsync=false", "--agent-api", "127.0.0.1:0", "--metadata", "127.0.0.1:0", "--docker-socket", dir.path + "/no-docker.sock",
        ], command: "dev")
        let agent = try await Self.wait("the dev agent started", timeout: .seconds(20)) {
            Self.children(of: dev.process.processIdentifier, named: "fuller-agent").first
        }
        defer { if Self.isAlive(agent) { kill(agent, SIGKILL) } }
        try await Self.wait("the dev agent took its lock", timeout: .seconds(20)) {
            (try? String(contentsOfFile: dir.path + "/dev/agent/" + AgentLock.fileName, encoding: .utf8))?.contains("pid \(agent) ") == true ? true : nil
        }
        let killed = ContinuousClock.now
        dev.kill(SIGKILL)
        try await Self.wait("the orphaned agent exited", timeout: Self.orphanExitMax) { Self.isAlive(agent) ? nil : true }
        print("dev agent exited \(ContinuousClock.now - killed) after its master's SIGKILL")
    }

    @Test(.timeLimit(.minutes(1)))
    func aSecondAgentOnTheSameDataDirectoryIsRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try AgentProcess(masters: ["http://127.0.0.1:9"], dataDirectory: dir.path + "/agent",
                                     dockerSocket: dir.path + "/no-docker.sock")
        defer { first.kill(SIGTERM) }
        let (status, log) = try await Self.runToExit(first.arguments)
        #expect(status == AgentExitStatus.lockHeld, "the second agent kept running beside the first, or failed otherwise:\n\(log)")
        #expect(log.contains("another agent is already running") && log.contains("pid \(first.process.processIdentifier) id \(first.id)"), "\(log)")
        // The lock goes with its holder, however it dies: a restart after SIGKILL takes it.
        try first.restart()
        #expect(first.process.isRunning)
    }

    /// Same id, same engine, another data directory: the engine is where they would fight.
    @Test(.timeLimit(.minutes(1)))
    func aSecondAgentWithTheSameIdOnTheSameEngineIsRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try AgentProcess(masters: ["http://127.0.0.1:9"], dataDirectory: dir.path + "/one",
                                     dockerSocket: dir.path + "/no-docker.sock")
        defer { first.kill(SIGTERM) }
        let (status, log) = try await Self.runToExit(first.arguments.map { $0 == dir.path + "/one" ? dir.path + "/two" : $0 })
        #expect(status == AgentExitStatus.lockHeld, "\(log)")
        #expect(log.contains("an agent with id \(first.id) is already running on the engine")
                && log.contains("(pid \(first.process.processIdentifier))"), "\(log)")
        // Another id on the same engine is welcome.
        let other = try AgentProcess(masters: ["http://127.0.0.1:9"], dataDirectory: dir.path + "/three",
                                     dockerSocket: dir.path + "/no-docker.sock")
        #expect(other.process.isRunning)
        other.kill(SIGTERM)
    }

    /// Runs `fuller-agent arguments` and waits up to 10 s for it to exit (then kills it): its
    /// status (nil if it had to be killed) and its log.
    static func runToExit(_ arguments: [String]) async throws -> (Int32?, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AgentProcess.binary)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let exited = (try? await Self.wait("the agent exited", timeout: .seconds(10)) { process.isRunning ? nil : true }) != nil
        if !exited { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (exited ? process.terminationStatus : nil, log)
    }

    /// Polls `probe` every 50 ms until it returns a value or `timeout` passes (then throws).
    static func wait<T>(_ what: String, timeout: Duration, _ probe: () throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try probe() { return value }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(what): not within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The pids whose parent is `parent` and whose command name is `name`, from /proc.
    static func children(of parent: pid_t, named name: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let stat = Self.stat(pid) else { return false }
            return stat.parent == parent && stat.name == String(name.prefix(15))
        }
    }

    /// Alive: it exists and is not a zombie waiting for a reaper.
    static func isAlive(_ pid: pid_t) -> Bool { (Self.stat(pid)).map { $0.state != "Z" } ?? false }

    /// `/proc/PID/stat`'s command name, state and parent.
    static func stat(_ pid: pid_t) -> (name: String, state: String, parent: pid_t)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 2, let parent = pid_t(rest[1]) else { return nil }
        return (String(text[text.index(after: open)..<close]), String(rest[0]), parent)
    }
}
