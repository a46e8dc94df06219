import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// One real `fuller-master` and one real `fuller-agent` on a Docker Engine, for one test.
///
/// Every wait polls the master's API (or the engine) against a deadline; nothing asserts after a
/// fixed sleep. The agent's id is unique, and every container it makes carries it as
/// `fuller.agent`, so cleaning up removes exactly this test's containers and no one else's.
final class EndToEndCluster: Sendable {
    let directory: TemporaryDirectory
    let master: MasterProcess
    let agent: AgentProcess
    let api: HTTPClient
    let docker: DockerClient

    /// Resources the agent offers: more than the host has, so placement never waits on them.
    static let agentResources = ["--cpu", "16", "--memory-mb", "16384"]

    private init(docker: DockerClient, dockerSocket: String, agentArguments: [String], masterArguments: [String]) throws {
        directory = try TemporaryDirectory()
        self.docker = docker
        master = try MasterProcess(dataDirectory: directory.path + "/master", extraArguments: ["--no-fsync"] + masterArguments)
        agent = try AgentProcess(masters: [master.url], dataDirectory: directory.path + "/agent", dockerSocket: dockerSocket,
                                 extraArguments: Self.agentResources + agentArguments)
        api = try HTTPClient(url: master.url)
    }

    /// Runs `body` with a fresh cluster, then stops the agent, removes its containers and stops
    /// the master, whether `body` threw or not. Without an engine it does nothing (see
    /// `DockerTestEnvironment`). A failing body prints the agent's last log lines.
    static func run(docker given: DockerClient? = nil, dockerSocket: String = DockerTestEnvironment.socketPath,
                    agentArguments: [String] = [], masterArguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: (EndToEndCluster) async throws -> Void) async throws {
        let docker: DockerClient
        if let given { docker = given } else {
            guard let found = await DockerTestEnvironment.client(sourceLocation: sourceLocation) else { return }
            docker = found
        }
        let cluster = try EndToEndCluster(docker: docker, dockerSocket: dockerSocket, agentArguments: agentArguments,
                                          masterArguments: masterArguments)
        do {
            try await body(cluster)
        } catch {
            print("--- agent \(cluster.agent.id) log (tail) ---\n\(cluster.agent.recentLog.suffix(6_000))")
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }

    private func tearDown() async {
        agent.kill(SIGKILL)
        if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: agent.id], docker: docker) {
            Issue.record("removing the containers of agent \(agent.id): \(problem)")
        }
        api.shutdown()
        // Its data is thrown away, so there is nothing for a graceful stop to keep.
        master.kill(SIGKILL)
        directory.remove()
    }

    // MARK: The master's API

    func submit(_ body: String) async throws -> String {
        let r = try await api.send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, let id = try JSONParser.parse(r.bodyBytes)["id"]?.stringValue else {
            throw TestFailure("submit: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return id
    }

    func get(_ path: String) async throws -> JSONValue {
        let r = try await api.send(.GET, path)
        guard r.status == 200 else { throw TestFailure("GET \(path): \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))") }
        return try JSONParser.parse(r.bodyBytes)
    }

    func jobState(_ id: String) async throws -> String? {
        try await get("/v1/jobs/\(id)")["state"]?.stringValue
    }

    func tasks(_ jobId: String) async throws -> [TaskView] {
        guard case .array(let items)? = try await get("/v1/tasks?jobId=\(jobId)&limit=1000")["items"] else {
            throw TestFailure("GET /v1/tasks: no items")
        }
        return try items.map(TaskView.init)
    }

    func task(_ id: String) async throws -> TaskView { try TaskView(try await get("/v1/tasks/\(id)")) }

    func killJob(_ id: String) async throws {
        let r = try await api.send(.DELETE, "/v1/jobs/\(id)")
        guard r.status == 200 else { throw TestFailure("kill \(id): \(r.status)") }
    }

    func scale(_ id: String, min: Int, desired: Int, max: Int) async throws {
        let body = #"{"min":\#(min),"desired":\#(desired),"max":\#(max)}"#
        let r = try await api.send(.PUT, "/v1/jobs/\(id)/capacity", body: Array(body.utf8))
        guard r.status == 200 else { throw TestFailure("scale \(id): \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))") }
    }

    /// The master's view of this agent (`GET /v1/agents/{id}`): `ready`, `unhealthy`, …
    func agentState() async throws -> String? {
        try await get("/v1/agents/\(agent.id)")["state"]?.stringValue
    }

    /// The status of the agent's `/readyz` (nil when it does not answer).
    func agentReadiness() async -> Int? {
        guard let client = try? HTTPClient(url: agent.url) else { return nil }
        defer { client.shutdown() }
        return try? await client.send(.GET, "/readyz", timeout: .seconds(5)).status
    }

    // MARK: The engine

    /// This agent's containers (all states), optionally only the ones of one task.
    func containers(task: String? = nil) async throws -> [ContainerSummary] {
        var labels = [Supervisor.agentLabel: agent.id]
        labels[Supervisor.taskLabel] = task
        return try await docker.listContainers(labels: labels, all: true)
    }

    // MARK: Waiting

    /// Polls `probe` every `pollInterval` until it returns a value, for at most `timeout`.
    @discardableResult
    func wait<T>(_ what: String, timeout: Duration = .seconds(30), pollInterval: Duration = .milliseconds(100),
                 _ probe: () async throws -> T?) async throws -> T {
        try await poll(what, timeout: timeout, pollInterval: pollInterval, probe)
    }

    /// Waits until `condition` holds.
    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        try await wait(what, timeout: timeout) { try await condition() ? true : nil }
    }

    /// Waits until every task of `jobId` satisfies `condition` and there are `count` of them.
    func waitForTasks(_ jobId: String, count: Int, _ what: String, timeout: Duration = .seconds(30),
                      _ condition: (TaskView) -> Bool) async throws -> [TaskView] {
        var last: [TaskView] = []
        do {
            return try await wait("\(count) tasks \(what)", timeout: timeout) {
                last = try await self.tasks(jobId)
                return last.count == count && last.allSatisfy(condition) ? last : nil
            }
        } catch let failure as TestFailure {
            throw TestFailure("\(failure.description); tasks of job \(jobId): \(last)")
        }
    }
}

/// Polls `probe` every `pollInterval` until it returns a value, for at most `timeout`; the
/// failure names what was awaited and the last error the probe threw.
func poll<T>(_ what: String, timeout: Duration, pollInterval: Duration = .milliseconds(100),
             _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    repeat {
        do {
            if let value = try await probe() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: pollInterval)
    } while ContinuousClock.now < deadline
    throw TestFailure("timed out after \(timeout) waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

/// A task as the master's API shows it.
struct TaskView: Sendable, CustomStringConvertible {
    var id: String
    var jobId: String
    var index: Int
    var attempt: Int
    var state: String
    var reason: String?
    var exitCode: Int?
    var message: String?
    var containerId: String?

    init(_ json: JSONValue) throws {
        guard let id = json["id"]?.stringValue, let jobId = json["jobId"]?.stringValue,
              let state = json["state"]?.stringValue else { throw TestFailure("not a task: \(json)") }
        self.id = id
        self.jobId = jobId
        self.state = state
        index = json["index"]?.int64Value.map(Int.init) ?? -1
        attempt = json["attempt"]?.int64Value.map(Int.init) ?? -1
        reason = json["reason"]?.stringValue
        exitCode = json["exitCode"]?.int64Value.map(Int.init)
        message = json["message"]?.stringValue
        containerId = json["containerId"]?.stringValue
    }

    var isFinished: Bool { state == "Finished" }
    var isLive: Bool { !isFinished }

    var description: String {
        "\(id)#\(attempt) \(state)\(reason.map { "/\($0)" } ?? "")\(exitCode.map { " exit \($0)" } ?? "")"
            + (message.map { " (\($0.prefix(200)))" } ?? "")
    }
}

/// Job specs for the test image. Scripts go into JSON as they are: no quotes or backslashes.
enum Jobs {
    static let image = DockerTestEnvironment.image

    static func batch(_ script: String, size: Int = 1, memoryMB: Int = 64, image: String = image,
                      extra: String = "") -> String {
        precondition(!script.contains("\"") && !script.contains("\\"))
        return #"{"name":"e2e","owner":"e2e@test","type":"batch","container":{"image":"\#(image)","#
            + #""command":["sh","-c","\#(script)"],"resources":{"cpu":0.1,"memoryMB":\#(memoryMB)}},"#
            + #""batch":{"size":\#(size)\#(extra)}}"#
    }

    static func service(_ script: String, desired: Int, max: Int = 10, retries: Int = 5,
                        retryPolicy: String? = nil) -> String {
        precondition(!script.contains("\"") && !script.contains("\\"))
        return #"{"name":"e2e-svc","owner":"e2e@test","type":"service","container":{"image":"\#(image)","#
            + #""command":["sh","-c","\#(script)"],"resources":{"cpu":0.1,"memoryMB":64}},"#
            + #""service":{"capacity":{"min":0,"desired":\#(desired),"max":\#(max)},"#
            + #""retryPolicy":\#(retryPolicy ?? #"{"immediate":{"retries":\#(retries)}}"#)}}"#
    }
}
