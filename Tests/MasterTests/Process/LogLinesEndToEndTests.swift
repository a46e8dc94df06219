import Foundation
import Glibc
import Testing
import TestSupport
@testable import Model

/// Both servers' standard error is one JSON object per line, from start-up errors and bad
/// command lines to a whole run and its shutdown (real processes).
@Suite(.serialized) struct LogLinesEndToEndTests {
    /// Runs `binary arguments`, lets it live up to `life` (then SIGTERM), and returns its exit
    /// status and standard error.
    static func run(_ binary: String, _ arguments: [String], life: Duration = .seconds(10)) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + life
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: bytes, as: UTF8.self))
    }

    /// The lines of `text` that are not a JSON object with the four fixed keys.
    static func nonJSONLines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { (line: String) -> Bool in
            guard let value = try? JSONParser.parse(Array(line.utf8)), case .object(let fields) = value else { return true }
            let keys = fields.map(\.0)
            return Array(keys.prefix(4)) != ["ts", "level", "msg", "component"]
        }
    }

    @Test(arguments: [
        ["--bogus"], ["--api", "no-port"], ["--masters", "ftp://x"], ["--cpu", "many"],
    ])
    func agentStartupErrorsAreJSONLines(arguments: [String]) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (status, stderr) = try Self.run(AgentProcess.binary, ["--data-dir", dir.path] + arguments)
        #expect(status == 2)
        #expect(!stderr.isEmpty && Self.nonJSONLines(stderr) == [], "\(stderr)")
        #expect(stderr.contains(#""level":"error""#))
    }

    @Test(arguments: [
        ["serve", "--bogus"], ["serve", "--api", "nowhere"], ["serve", "--peers", "m1=127.0.0.1:1,m1=127.0.0.1:2"],
        ["serve", "--log-level", "loud"],
    ])
    func masterStartupErrorsAreJSONLines(arguments: [String]) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (status, stderr) = try Self.run(MasterProcess.binary, arguments + ["--data-dir", dir.path])
        #expect(status == 2)
        #expect(!stderr.isEmpty && Self.nonJSONLines(stderr) == [], "\(stderr)")
    }

    @Test func aWholeRunOfMasterAndAgentLogsOnlyJSONLines() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let master = try MasterProcess(dataDirectory: dir.path + "/master")
        // No Docker at that socket: the agent logs its warnings, registers, and stops on SIGTERM.
        // (The metadata endpoint gets an explicit address: finding the bridge needs Docker.)
        let agent = try Self.run(AgentProcess.binary, ["--id", AgentProcess.uniqueId("logs"), "--masters", master.url,
                                                       "--data-dir", dir.path + "/agent", "--api", "127.0.0.1:0",
                                                       "--metadata", "127.0.0.1:0",
                                                       "--docker-socket", dir.path + "/no-docker.sock"], life: .seconds(2))
        master.kill(SIGTERM)
        #expect(agent.status == 0)
        #expect(agent.stderr.contains("agent serving") && agent.stderr.contains(#""msg":"registered""#), "\(agent.stderr)")
        #expect(agent.stderr.contains("agent stopped"))
        #expect(agent.stderr.contains("AUTHENTICATION IS OFF"), "an agent without --token-file says its API is open")
        #expect(Self.nonJSONLines(agent.stderr) == [])
    }
}
