import Foundation
import Glibc
import Testing
import TestSupport
@testable import Master
import Model
import Shared

/// `fuller-master local-provider` through the provider protocol, with a stand-in agent (a
/// script that logs its arguments and says it serves): zones, ids, retried requests,
/// scale-down, and `stop-all` parking agents that the next scale-up restarts.
@Suite(.serialized) struct LocalProviderTests {
    static let fakeAgent = """
    #!/bin/bash
    echo "args: $*"
    trap 'echo stopping; exit 0' TERM
    echo '{"message":"agent serving","api":"127.0.0.1:1"}'
    while true; do sleep 0.05; done
    """

    struct Call {
        var status: Int32?
        var reply: JSONValue
    }

    /// Writes the stand-in with a close-on-exec descriptor, so no concurrent child keeps it
    /// open for writing (which would make executing it fail with ETXTBSY).
    static func writeExecutable(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw TestFailure("cannot create \(path)") }
        _ = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    static func call(_ arguments: [String], dir: TemporaryDirectory, requestId: String? = nil) throws -> Call {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FULLER_") }
        env["FULLER_STATE_DIR"] = dir.path + "/state"
        env["FULLER_AGENT_BINARY"] = dir.path + "/agent"
        env["FULLER_AGENT_ZONES"] = "a,b"
        env["FULLER_ID_PREFIX"] = "p-"
        env["FULLER_REQUEST_ID"] = requestId
        let r = try ChildProcess.run([BuiltProduct.path("fuller-master"), "local-provider"] + arguments, environment: env,
                                     timeout: .seconds(30))
        return Call(status: r.exitStatus, reply: try JSONParser.parse(r.stdout))
    }

    static func agents(_ call: Call) -> [String] {
        guard case .array(let items)? = call.reply["agents"] else { return [] }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    @Test(.timeLimit(.minutes(1)))
    func startsStopsParksAndRestartsAgents() throws {
        let dir = try TemporaryDirectory()
        defer {
            _ = try? Self.call(["stop-all"], dir: dir)
            dir.remove()
        }
        try Self.writeExecutable(Self.fakeAgent, to: dir.path + "/agent")
        let state = dir.path + "/state"

        let up = try Self.call(["scale-up", "web", "2"], dir: dir, requestId: "r1")
        #expect(up.status == 0 && up.reply["ok"] == .bool(true))
        #expect(Self.agents(up) == ["p-web-1", "p-web-2"])
        let zones = ["p-web-1", "p-web-2"].map { try? String(contentsOfFile: "\(state)/agents/\($0)/zone", encoding: .utf8) }
        #expect(zones == ["a", "b"])
        let args = try String(contentsOfFile: "\(state)/agents/p-web-1/agent.log", encoding: .utf8)
        #expect(args.contains("--id p-web-1 ") && args.contains("--machine-group web") && args.contains("--zone a"))
        #expect(args.contains("--cpu 2.0 --memory-mb 2048"))

        // The same request again (a retry): the same answer, no more agents.
        #expect(Self.agents(try Self.call(["scale-up", "web", "2"], dir: dir, requestId: "r1")) == ["p-web-1", "p-web-2"])
        #expect(LocalProvider.agentIds(in: state) == ["p-web-1", "p-web-2"])

        let down = try Self.call(["scale-down", "web", "p-web-1"], dir: dir)
        #expect(down.status == 0 && Self.agents(down) == ["p-web-1"])
        #expect(LocalProvider.state(of: "p-web-1", dir: state) == .stopped)
        #expect(try String(contentsOfFile: "\(state)/agents/p-web-1/agent.log", encoding: .utf8).contains("stopping"))

        #expect(try Self.call(["stop-all"], dir: dir).status == 0)
        #expect(LocalProvider.state(of: "p-web-2", dir: state) == .parked)
        // A parked agent comes back with its id (and adopts its containers); a stopped one never does.
        let again = try Self.call(["scale-up", "web", "2"], dir: dir, requestId: "r2")
        #expect(Self.agents(again) == ["p-web-2", "p-web-3"])

        let unknown = try Self.call(["scale-down", "web", "p-web-9"], dir: dir)
        #expect(unknown.status == 1 && unknown.reply["ok"] == .bool(false))
    }
}
