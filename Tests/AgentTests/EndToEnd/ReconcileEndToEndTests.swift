import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The master's reconciler against real processes and real Docker: an agent running service
/// tasks is SIGKILLed, its tasks are replaced on another agent within the configured timeouts,
/// and when it comes back its stale containers are stopped and removed by the master's kills
/// (the agents' own orphan rule is set to 10 minutes, so it cannot be what removes them).
@Suite(.serialized) struct ReconcileEndToEndTests {
    /// Timeouts short enough for a test; the long poll is capped so idle agents beat every second.
    static let masterArguments = ["--no-fsync", "--agent-long-poll-max", "1s", "--agent-disconnected-after", "3s",
                                  "--agent-lost-after", "6s", "--task-missing-grace", "3s", "--reconcile-interval", "200ms"]

    @Test(.timeLimit(.minutes(3)))
    func aKilledAgentsTasksRunElsewhereAndItsContainersGoWhenItReturns() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let dir = try TemporaryDirectory()
        let master = try MasterProcess(dataDirectory: dir.path + "/master", extraArguments: Self.masterArguments)
        let api = try HTTPClient(url: master.url)
        let a1 = try AgentProcess(masters: [master.url], dataDirectory: dir.path + "/a1", dockerSocket: DockerTestEnvironment.socketPath,
                                  orphanGrace: "10m", extraArguments: EndToEndCluster.agentResources)
        var a2: AgentProcess?
        defer {
            a1.kill(SIGKILL); a2?.kill(SIGKILL)
            api.shutdown()
            master.kill(SIGKILL)
            dir.remove()
        }
        func containers(_ agent: AgentProcess) async throws -> [ContainerSummary] {
            try await docker.listContainers(labels: [Supervisor.agentLabel: agent.id], all: true)
        }
        // The agents go first: a live one reports the removed containers missing, and the
        // master's replacements land in the engine after the removal (and stayed there).
        func cleanUp() async {
            let agents = [a1, a2].compactMap { $0 }
            agents.forEach { $0.kill(SIGKILL) }
            for agent in agents {
                if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: agent.id], docker: docker) {
                    Issue.record("removing the containers of agent \(agent.id): \(problem)")
                }
            }
        }
        do {
            let job = try await submit(api, Jobs.service(ServiceEndToEndTests.script, desired: 2, retries: 5))
            let old = try await waitForTasks(api, job, "2 tasks Started on \(a1.id)") { tasks in
                let live = tasks.filter { !$0.isFinished }
                return live.count == 2 && live.allSatisfy { $0.state == "Started" } ? live : nil
            }
            a2 = try AgentProcess(masters: [master.url], dataDirectory: dir.path + "/a2", dockerSocket: DockerTestEnvironment.socketPath,
                                  orphanGrace: "10m", extraArguments: EndToEndCluster.agentResources)
            try await Task.sleep(for: .milliseconds(500))

            a1.kill(SIGKILL)
            let killedAt = ContinuousClock.now
            let replacements = try await waitForTasks(api, job, "2 replacements Started", timeout: .seconds(60)) { tasks in
                let live = tasks.filter { !$0.isFinished }
                return live.count == 2 && live.allSatisfy { $0.state == "Started" } && Set(live.map(\.id)).isDisjoint(with: old.map(\.id)) ? live : nil
            }
            let replacedAfter = ContinuousClock.now - killedAt
            print("reconcile e2e: replacements running \(replacedAfter) after SIGKILL (lost timeout 6s)")
            #expect(replacedAfter < .seconds(20), "lost after 6 s of silence, then placement and start")
            for task in old {
                let now = try TaskView(try await get(api, "/v1/tasks/\(task.id)"))
                #expect(now.state == "Finished" && now.reason == "lost", "\(now)")
            }
            #expect(try await containers(a1).filter { $0.state == "running" }.count == 2, "the dead agent's containers still run")
            let onA2 = try await containers(a2!).filter { $0.state == "running" }.compactMap { $0.labels[Supervisor.taskLabel] }
            #expect(Set(onA2) == Set(replacements.map(\.id)))

            try a1.start()
            let returnedAt = ContinuousClock.now
            try await waitUntil("the returning agent's stale containers removed", timeout: .seconds(60)) {
                try await containers(a1).isEmpty
            }
            print("reconcile e2e: stale containers gone \(ContinuousClock.now - returnedAt) after the agent returned")
            // Nothing runs twice: one running container per live task, all on a2.
            let running = try await containers(a2!).filter { $0.state == "running" }
            #expect(running.count == 2 && Set(running.compactMap { $0.labels[Supervisor.taskLabel] }) == Set(replacements.map(\.id)))
            let live = try await tasks(api, job).filter { !$0.isFinished }
            #expect(live.count == 2 && live.allSatisfy { $0.state == "Started" }, "\(live)")
            let metrics = String(decoding: try await api.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
            #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="lost"} 2"#), "\(metrics.split(separator: "\n").filter { $0.contains("reconcile") })")
            #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="killUnknownContainer"}"#))
        } catch {
            print("--- agent \(a1.id) log (tail) ---\n\(a1.recentLog.suffix(4_000))")
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    // MARK: Helpers

    private func submit(_ api: HTTPClient, _ body: String) async throws -> String {
        let r = try await api.send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, let id = try JSONParser.parse(r.bodyBytes)["id"]?.stringValue else {
            throw TestFailure("submit: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return id
    }

    private func get(_ api: HTTPClient, _ path: String) async throws -> JSONValue {
        let r = try await api.send(.GET, path)
        guard r.status == 200 else { throw TestFailure("GET \(path): \(r.status)") }
        return try JSONParser.parse(r.bodyBytes)
    }

    private func tasks(_ api: HTTPClient, _ job: String) async throws -> [TaskView] {
        guard case .array(let items)? = try await get(api, "/v1/tasks?jobId=\(job)&limit=1000")["items"] else { return [] }
        return try items.map(TaskView.init)
    }

    private func waitForTasks(_ api: HTTPClient, _ job: String, _ what: String, timeout: Duration = .seconds(60),
                              _ probe: ([TaskView]) -> [TaskView]?) async throws -> [TaskView] {
        let deadline = ContinuousClock.now + timeout
        var last: [TaskView] = []
        while ContinuousClock.now < deadline {
            last = try await tasks(api, job)
            if let found = probe(last) { return found }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what); tasks: \(last)")
    }

    private func waitUntil(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what)")
    }
}
