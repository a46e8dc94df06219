import Testing
@testable import Agent
import Model
import Shared

/// The executor against the real engine (see `DockerTestEnvironment`): a task runs, its exit
/// code arrives through events, and the container stays until the master acknowledges.
@Suite struct ExecutorDockerTests {
    @Test func runsATaskAndKeepsItsExitCodeUntilAcknowledged() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        var configuration = Executor.Configuration()
        // A unique agent id scopes the containers this test lists and adopts.
        let agentId = "test-\(UInt32.random(in: 0...UInt32.max))"
        configuration.supervisor.agentId = agentId
        configuration.tickInterval = .milliseconds(100)
        configuration.listInterval = .seconds(3600)
        let executor = Executor(engine: docker, configuration: configuration, logger: Logger(component: "test", sink: CapturingLogSink()))
        let task = Assignments.task("\(agentId)-t1", command: ["sh", "-c", "echo hello; echo bye; sleep 0.3; exit 4"])
        do {
            try await Self.run(task, executor: executor, docker: docker)
        } catch {
            await Self.removeAll(docker, agentId: agentId)
            throw error
        }
        await Self.removeAll(docker, agentId: agentId)
    }

    static func run(_ task: TaskAssignment, executor: Executor, docker: DockerClient) async throws {
        let agentId = executor.configuration.supervisor.agentId
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await executor.run() }
            executor.apply(Assignments.answer([task]), requestSequence: 1)
            #expect(await eventually(.seconds(20)) { Self.report(executor)?.state == .started })
            // Started is reported as soon as Docker accepts the start; the IP follows with the inspect.
            #expect(await eventually(.seconds(20)) { Self.report(executor)?.ip?.isEmpty == false })
            #expect(await eventually(.seconds(20)) { Self.report(executor)?.state == .finished })
            let report = try #require(Self.report(executor))
            #expect(report.exitCode == 4 && report.reason == .failed)
            #expect(report.message?.contains("hello\nbye") == true)
            let id = try #require(report.containerId)
            #expect(try await docker.inspectContainer(id).status == "exited")
            _ = executor.heartbeat(sequence: 5, waitMilliseconds: 0)
            executor.apply(Assignments.answer([], version: 2), requestSequence: 5)
            #expect(await eventually(.seconds(20)) { executor.heartbeat(sequence: 6, waitMilliseconds: 0).reports.isEmpty })
            #expect(try await docker.listContainers(labels: ["fuller.agent": agentId], all: true).isEmpty)
            group.cancelAll()
        }
    }

    static func report(_ executor: Executor) -> TaskReport? {
        executor.state.withLock { $0.supervisor.reports.first }
    }

    static func removeAll(_ docker: DockerClient, agentId: String) async {
        if let problem = await DockerTestEnvironment.removeContainers(labelled: ["fuller.agent": agentId], docker: docker,
                                                                       settle: .milliseconds(300)) {
            Issue.record("removing the containers of agent \(agentId): \(problem)")
        }
    }
}
