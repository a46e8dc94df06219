import Foundation
import Glibc
import Testing
import TestSupport
@testable import Autoscaler
@testable import Master
import Model
import Shared

/// The provider protocol against real scripts: replies, failures, timeouts (the whole process
/// group is killed) and retries that carry the same request id.
@Suite struct ExecutableProviderTests {
    static let group = GroupRule(name: "web", maxSize: 5, shape: AgentShape(resources: Resources(cpu: 2, memoryMB: 4_096),
                                                                            zones: ["a", "b"], machineType: "m5.large"))
    static let up = AutoscalerAction(id: 7, group: "web", kind: .scaleUp, count: 2, desiredSize: 5, reason: "test", atMs: 1_000)
    static let down = AutoscalerAction(id: 8, group: "web", kind: .scaleDown, count: 2, agentIds: ["i-1", "i-2"], desiredSize: 1,
                                       reason: "test", atMs: 2_000)

    /// A provider running `script` (bash) from a temporary directory, which it gets as `$DIR`.
    static func provider(_ script: String, timeoutMs: Int64 = 10_000, retries: Int = 0,
                         in dir: TemporaryDirectory) throws -> ExecutableProvider {
        let path = dir.path + "/provider.sh"
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        let configuration = ProviderConfiguration(command: ["/bin/bash", path], environment: ["DIR": dir.path],
                                                  timeoutMilliseconds: timeoutMs, retries: retries, retryDelayMilliseconds: 10)
        return ExecutableProvider(configuration: configuration, logger: Logger(component: "test", minimumLevel: .error), stopping: { false })
    }

    static let context = ProviderContext(masterURL: "http://127.0.0.1:4700", currentSize: 3)

    @Test func aScaleUpGetsItsArgumentsAndTheShapeAndReturnsTheAgents() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = try Self.provider(#"""
        echo "$@|$FULLER_GROUP|$FULLER_AGENT_CPU|$FULLER_AGENT_MEMORY_MB|$FULLER_AGENT_ZONES|$FULLER_AGENT_MACHINE_TYPE|$FULLER_DESIRED_SIZE|$FULLER_CURRENT_SIZE|$FULLER_MASTER_URL" > "$DIR/seen"
        echo '{"ok": true, "agents": ["i-1", "i-2"], "message": "asked for 2"}'
        """#, in: dir)
        #expect(p.perform(Self.up, group: Self.group, context: Self.context)
                == .succeeded(agentIds: ["i-1", "i-2"], message: "asked for 2", attempts: 1))
        let seen = try String(contentsOfFile: dir.path + "/seen", encoding: .utf8)
        #expect(seen == "scale-up web 2|web|2.0|4096|a,b|m5.large|5|3|http://127.0.0.1:4700\n")
    }

    @Test func aScaleDownListsTheAgents() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = try Self.provider(#"echo "$@" > "$DIR/seen"; echo '{"ok":true}'"#, in: dir)
        #expect(p.perform(Self.down, group: Self.group, context: Self.context) == .succeeded(agentIds: [], message: nil, attempts: 1))
        #expect(try String(contentsOfFile: dir.path + "/seen", encoding: .utf8) == "scale-down web i-1 i-2\n")
    }

    @Test(arguments: [
        (#"echo '{"ok": false, "message": "quota exceeded"}'; exit 1"#, "the provider says: quota exceeded"),
        (#"echo 'AccessDenied' >&2; exit 3"#, "exited with status 3: AccessDenied"),
        (#"echo 'done'"#, "its output is not JSON"),
        (#"true"#, "it printed no JSON on standard output"),
        (#"echo '{"ok": true, "agent": "x"}'"#, "its JSON is not a provider reply: agent: unknown field"),
        (#"kill -9 $$"#, "killed by signal 9"),
    ])
    func failuresSayWhy(script: String, message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let outcome = try Self.provider(script, in: dir).perform(Self.up, group: Self.group, context: Self.context)
        guard case .failed(let text, let attempts) = outcome else { Issue.record("succeeded: \(outcome)"); return }
        #expect(text.hasPrefix(message), "\(text)")
        #expect(attempts == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func aTimeoutKillsTheProviderAndItsChildren() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = try Self.provider(#"sleep 60 & echo $! > "$DIR/child"; wait"#, timeoutMs: 500, in: dir)
        let started = ContinuousClock.now
        let outcome = p.perform(Self.up, group: Self.group, context: Self.context)
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failed(let text, _) = outcome else { Issue.record("succeeded: \(outcome)"); return }
        #expect(text.hasPrefix("timed out after 0 s; killed"), "\(text)")
        let child = try #require(pid_t(try String(contentsOfFile: dir.path + "/child", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Gone, or at most a zombie waiting for its reaper.
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        #expect(stat.isEmpty || stat.contains(") Z"), "the provider's child \(child) survived: \(stat)")
    }

    @Test func failedAttemptsAreRetriedWithTheSameRequestId() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = try Self.provider(#"""
        echo "$FULLER_REQUEST_ID" >> "$DIR/ids"
        if [ "$(wc -l < "$DIR/ids")" -lt 3 ]; then echo '{"ok":false,"message":"busy"}'; exit 1; fi
        echo '{"ok":true}'
        """#, retries: 2, in: dir)
        #expect(p.perform(Self.up, group: Self.group, context: Self.context) == .succeeded(agentIds: [], message: nil, attempts: 3))
        let ids = try String(contentsOfFile: dir.path + "/ids", encoding: .utf8).split(separator: "\n")
        #expect(ids.count == 3 && Set(ids).count == 1)
        let again = try Self.provider(#"echo '{"ok":false,"message":"no"}'"#, retries: 1, in: dir)
        #expect(again.perform(Self.up, group: Self.group, context: Self.context) == .failed(message: "the provider says: no", attempts: 2))
    }

    @Test func aMissingProgramFails() {
        let configuration = ProviderConfiguration(command: ["/nonexistent/provider"], retries: 0)
        let p = ExecutableProvider(configuration: configuration, logger: Logger(component: "test", minimumLevel: .error), stopping: { false })
        guard case .failed(let text, _) = p.perform(Self.up, group: Self.group, context: Self.context) else { Issue.record("succeeded"); return }
        #expect(text.contains("cannot start /nonexistent/provider"), "\(text)")
    }
}
