import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// Three real masters, one real agent, the real engine: the leader is SIGKILLed while a service
/// runs. The agent must find the new leader by itself, the running containers must not be
/// stopped, restarted or duplicated, and new work must be placed by the new leader.
@Suite(.serialized) struct FailoverEndToEndTests {
    static let script = "trap exit TERM; while true; do sleep 0.2; done"

    @Test(.timeLimit(.minutes(3)))
    func runningContainersSurviveTheLeadersDeath() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let directory = try TemporaryDirectory()
        let masters = try ClusterProcesses(directory: directory.path)
        try masters.start(extraArguments: ["--no-fsync"])
        let agent = try AgentProcess(masters: masters.members.map(\.url), dataDirectory: directory.path + "/agent",
                                     extraArguments: EndToEndCluster.agentResources)
        let api = FailoverAPI(members: masters.members)
        do {
            try await Self.exercise(masters: masters, agent: agent, api: api, docker: docker)
        } catch {
            print("--- agent log (tail) ---\n\(agent.recentLog.suffix(4_000))\n\(masters.logs())")
            await Self.tearDown(masters: masters, agent: agent, api: api, docker: docker, directory: directory)
            throw error
        }
        await Self.tearDown(masters: masters, agent: agent, api: api, docker: docker, directory: directory)
    }

    private static func exercise(masters: ClusterProcesses, agent: AgentProcess, api: FailoverAPI,
                                 docker: DockerClient) async throws {
        let leader = try await api.waitForLeader(excluding: nil)
        let job = try await api.submit(Jobs.service(script, desired: 2), to: leader)
        let before = try await api.waitForStarted(job, count: 2, docker: docker, agent: agent.id)
        var startedAt: [String: String] = [:]
        for task in before {
            let id = try #require(task.containerId)
            startedAt[id] = try await docker.inspectContainer(id).startedAt
        }

        masters.member(apiAddress: leader)!.kill(SIGKILL)
        let newLeader = try await api.waitForLeader(excluding: leader)
        #expect(newLeader != leader)

        // New work reaches the agent through the new leader.
        let second = try await api.submit(Jobs.service(script, desired: 1), to: newLeader)
        _ = try await api.waitForStarted(second, count: 1, docker: docker, agent: agent.id)

        // The first service's tasks and containers are the same ones, never restarted.
        let after = try await api.tasks(job, at: newLeader)
        #expect(after.map(\.id).sorted() == before.map(\.id).sorted(), "\(after)")
        #expect(after.allSatisfy { $0.state == "Started" }, "\(after)")
        for task in after {
            let id = try #require(task.containerId)
            #expect(startedAt[id] != nil, "task \(task.id) moved to container \(id)")
            let details = try await docker.inspectContainer(id)
            #expect(details.running && details.startedAt == startedAt[id], "container \(id) restarted: \(details)")
        }
        let all = try await docker.listContainers(labels: [Supervisor.agentLabel: agent.id], all: true)
        #expect(all.count == 3, "expected 3 containers, found \(all.map(\.id))")

        // The killed master comes back and catches up with the same view.
        try masters.member(apiAddress: leader)!.restart()
        try await api.waitUntil("the restarted master agrees on the tasks") {
            let seen = try await api.tasks(job, at: leader, stale: true)
            return seen.map(\.id).sorted() == before.map(\.id).sorted() && seen.allSatisfy { $0.state == "Started" }
        }
    }

    private static func tearDown(masters: ClusterProcesses, agent: AgentProcess, api: FailoverAPI, docker: DockerClient,
                                 directory: TemporaryDirectory) async {
        agent.kill(SIGKILL)
        if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: agent.id], docker: docker) {
            Issue.record("removing the containers of agent \(agent.id): \(problem)")
        }
        api.shutdown()
        masters.stopAll()
        directory.remove()
    }
}

/// Just enough of a client for three masters: who leads, submit, tasks.
private final class FailoverAPI: Sendable {
    private let clients: [String: HTTPClient]

    init(members: [ClusterProcesses.Member]) {
        var clients: [String: HTTPClient] = [:]
        for m in members {
            var configuration = HTTPClient.Configuration()
            configuration.connectTimeout = .seconds(1)
            configuration.requestTimeout = .seconds(3)
            clients[m.apiAddress] = try? HTTPClient(url: m.url, configuration: configuration)
        }
        self.clients = clients
    }

    func shutdown() { for c in clients.values { c.shutdown() } }

    private func client(_ address: String) throws -> HTTPClient {
        guard let c = clients[address] else { throw TestFailure("no client for \(address)") }
        return c
    }

    /// The API address of the master that says it leads (and is not `excluding`).
    func waitForLeader(excluding: String?) async throws -> String {
        try await wait("a leader other than \(excluding ?? "none")", timeout: .seconds(20)) {
            for (address, c) in self.clients where address != excluding {
                guard let r = try? await c.send(.GET, "/v1/cluster", timeout: .seconds(2)), r.status == 200,
                      let json = try? JSONParser.parse(r.bodyBytes),
                      let me = json["self"]?.stringValue, json["leader"]?.stringValue == me else { continue }
                return address
            }
            return nil
        }
    }

    func submit(_ body: String, to address: String) async throws -> String {
        let r = try await client(address).send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, let id = try JSONParser.parse(r.bodyBytes)["id"]?.stringValue else {
            throw TestFailure("submit: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return id
    }

    func tasks(_ job: String, at address: String, stale: Bool = false) async throws -> [TaskView] {
        let r = try await client(address).send(.GET, "/v1/tasks?jobId=\(job)&limit=1000" + (stale ? "&stale=true" : ""))
        guard r.status == 200, case .array(let items)? = try JSONParser.parse(r.bodyBytes)["items"] else {
            throw TestFailure("GET tasks at \(address): \(r.status)")
        }
        return try items.map(TaskView.init)
    }

    /// Waits until `count` tasks of `job` are Started, each in its one running container.
    func waitForStarted(_ job: String, count: Int, docker: DockerClient, agent: String) async throws -> [TaskView] {
        try await wait("\(count) tasks of \(job) Started", timeout: .seconds(40)) {
            guard let leader = try? await self.waitForLeader(excluding: nil) else { return nil }
            let live = try await self.tasks(job, at: leader).filter(\.isLive)
            guard live.count == count, live.allSatisfy({ $0.state == "Started" }) else { return nil }
            for task in live {
                let found = try await docker.listContainers(labels: [Supervisor.agentLabel: agent, Supervisor.taskLabel: task.id],
                                                            all: true)
                guard found.count == 1, found[0].state == "running", found[0].id == task.containerId else { return nil }
            }
            return live
        }
    }

    func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        _ = try await wait(what, timeout: .seconds(30)) { try await condition() ? true : nil }
    }

    private func wait<T>(_ what: String, timeout: Duration, _ probe: () async throws -> T?) async throws -> T {
        try await poll(what, timeout: timeout, probe)
    }
}
