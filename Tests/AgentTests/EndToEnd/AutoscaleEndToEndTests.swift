import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// `fuller-master dev --autoscale` for real: the local provider starts and stops real
/// `fuller-agent` processes, the tasks run in real containers. A burst of jobs grows the group
/// from 1 agent to as many as the tasks fill, and it shrinks back to 1 when they finish.
@Suite(.serialized) struct AutoscaleEndToEndTests {
    @Test(.timeLimit(.minutes(3)))
    func devAutoscaleGrowsUnderABurstAndShrinksBackWhenItEnds() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let dev = try DevAutoscaleMaster(dockerSocket: DockerTestEnvironment.socketPath)
        do {
            try await run(dev)
        } catch {
            print("--- dev master log (tail) ---\n\(dev.log.contents.suffix(8_000))")
            await dev.tearDown(docker: docker)
            throw error
        }
        await dev.tearDown(docker: docker)
    }

    private func run(_ dev: DevAutoscaleMaster) async throws {
        // minSize 1: the first agent is the autoscaler's own doing.
        _ = try await poll("the first agent", timeout: .seconds(30)) { try await dev.readyAgents().count == 1 ? true : nil }
        // 8 tasks of 0.5 cpu on 1-cpu agents: 4 agents, so 3 more, asked for at once.
        let submitted = ContinuousClock.now
        let job = try await dev.submit(#"{"name":"burst","owner":"e2e@test","type":"batch","container":{"image":"\#(Jobs.image)","#
            + #""command":["sh","-c","sleep 8"],"resources":{"cpu":0.5,"memoryMB":64}},"batch":{"size":8}}"#)
        let agentsOfTasks = try await poll("8 tasks started on 4 agents", timeout: .seconds(60)) { () -> Set<String>? in
            let tasks = try await dev.items("/v1/tasks?jobId=\(job)&limit=100")
            let started = tasks.filter { $0["state"]?.stringValue == "Started" }
            return started.count == 8 ? Set(started.compactMap { $0["agentId"]?.stringValue }) : nil
        }
        let grown = ContinuousClock.now - submitted
        #expect(agentsOfTasks.count == 4)
        let ups = try await dev.actions().filter { $0["kind"]?.stringValue == "scaleUp" }
        #expect(ups.compactMap { $0["count"]?.int64Value } == [1, 3], "scale-ups: \(ups)")
        let zones = try await dev.readyAgents().compactMap { $0["attributes"]?["zone"]?.stringValue }
        #expect(zones.sorted() == ["z1", "z1", "z2", "z2"])

        _ = try await poll("the job Finished", timeout: .seconds(60)) {
            try await dev.get("/v1/jobs/\(job)")["state"]?.stringValue == "Finished" ? true : nil
        }
        let finished = ContinuousClock.now
        _ = try await poll("back to 1 agent", timeout: .seconds(60)) { try await dev.agents().count == 1 ? true : nil }
        print("autoscale end to end: submit → 8 tasks Started on 4 agents in \(grown); job Finished → 1 agent in \(ContinuousClock.now - finished)")
        let actions = try await dev.actions()
        let downs = actions.filter { $0["kind"]?.stringValue == "scaleDown" && $0["result"]?.stringValue == "succeeded" }
        let terminated = downs.flatMap { $0["agents"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        #expect(terminated.count == 3)
        // Every terminated agent was drained first, and its process is gone.
        let drained = Set(actions.filter { $0["kind"]?.stringValue == "drain" }.flatMap { $0["agents"]?.arrayValue ?? [] }.compactMap(\.stringValue))
        #expect(Set(terminated).isSubset(of: drained))
        for id in terminated { #expect(dev.agentProcessAlive(id) == false, "agent \(id) still runs") }
        #expect(!agentsOfTasks.isDisjoint(with: terminated))
    }
}

/// A `fuller-master dev --autoscale` process with rules sized for the test, and everything it
/// starts: `tearDown` stops the master (which stops its agents), kills any agent left, and
/// removes every container of every agent it started.
final class DevAutoscaleMaster: Sendable {
    let directory: TemporaryDirectory
    let process: Process
    let log: ChildProcessLog
    let api: HTTPClient
    let prefix = "as-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-"

    init(dockerSocket: String) throws {
        directory = try TemporaryDirectory()
        let rules = #"""
        {"provider": {"command": ["replaced-by-dev"], "timeoutSeconds": 30, "retries": 1,
                      "environment": {"FULLER_ID_PREFIX": "\#(prefix)", "FULLER_AGENT_ARGS": "--orphan-grace 2s --stop-grace 1s"}},
         "drainSettleSeconds": 0.5,
         "groups": [{"name": "e2e", "minSize": 1, "maxSize": 4, "minIdle": 0, "maxIdle": 0, "cooldownSeconds": 2,
                     "shape": {"cpu": 1, "memoryMB": 1024, "zones": ["z1", "z2"]}}]}
        """#
        try Data(rules.utf8).write(to: URL(fileURLWithPath: directory.path + "/rules.json"))
        process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProduct.path("fuller-master"))
        process.arguments = ["dev", "--autoscale", "--autoscale-rules", directory.path + "/rules.json", "--autoscale-interval", "500ms",
                             "--data-dir", directory.path + "/data", "--api", "127.0.0.1:0", "--no-fsync", "--docker-socket", dockerSocket]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        log = ChildProcessLog(pipe)
        try process.run()
        let port = try log.waitForPort(marker: "master serving", deadline: .now + .seconds(20))
        api = try HTTPClient(url: "http://127.0.0.1:\(port)")
    }

    var stateDirectory: String { directory.path + "/data/autoscaled-agents/agents" }

    /// Every agent the local provider ever started for this test.
    var startedAgents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []).sorted() }

    func agentPid(_ id: String) -> pid_t? {
        FileManager.default.contents(atPath: "\(stateDirectory)/\(id)/pid").flatMap { pid_t(String(decoding: $0, as: UTF8.self)) }
    }

    /// Whether the agent's process still runs (not a zombie).
    func agentProcessAlive(_ id: String) -> Bool {
        guard let pid = agentPid(id), let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
              String(decoding: cmdline, as: UTF8.self).contains(id) else { return false }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        return !["Z", "X"].contains(text[text.index(close, offsetBy: 2)...].first.map(String.init) ?? "X")
    }

    func tearDown(docker: DockerClient) async {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for id in startedAgents {
            if agentProcessAlive(id), let pid = agentPid(id) {
                Issue.record("agent \(id) survived the master's shutdown")
                kill(pid, SIGKILL)
            }
            if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: id], docker: docker) {
                Issue.record("removing the containers of agent \(id): \(problem)")
            }
        }
        api.shutdown()
        directory.remove()
    }

    // MARK: The API

    func get(_ path: String) async throws -> JSONValue {
        let r = try await api.send(.GET, path)
        guard r.status == 200 else { throw TestFailure("GET \(path): \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))") }
        return try JSONParser.parse(r.bodyBytes)
    }

    func items(_ path: String) async throws -> [JSONValue] { try await get(path)["items"]?.arrayValue ?? [] }

    func agents() async throws -> [JSONValue] { try await items("/v1/agents") }

    func readyAgents() async throws -> [JSONValue] { try await agents().filter { $0["state"]?.stringValue == "ready" } }

    func actions() async throws -> [JSONValue] { try await get("/v1/autoscaler")["actions"]?.arrayValue ?? [] }

    func submit(_ body: String) async throws -> String {
        let r = try await api.send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, let id = try JSONParser.parse(r.bodyBytes)["id"]?.stringValue else {
            throw TestFailure("submit: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return id
    }
}

extension JSONValue {
    fileprivate var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
}
