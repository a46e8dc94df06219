import Testing
@testable import Agent
import Model
import Shared

/// Health checks and drift repair against the real engine (see `DockerTestEnvironment`), through
/// the executor as the agent runs it.
@Suite struct HealthDockerTests {
    /// A tiny HTTP server in the test image: `nc` answers one request at a time with `status`.
    static func server(_ status: String) -> [String] {
        ["sh", "-c", "while true; do printf 'HTTP/1.0 \(status)\\r\\nContent-Length: 2\\r\\n\\r\\nok' | nc -l -p 8080; done"]
    }

    static func task(_ id: String, command: [String], check: HealthCheck?) -> TaskAssignment {
        var task = Assignments.task(id, command: command)
        task.container.healthCheck = check
        return task
    }

    static let http = HealthCheck(probe: .http(port: 8080, path: "/health"), intervalSeconds: 1, timeoutSeconds: 1, retries: 2)

    @Test func httpAndExecChecksReachTheReports() async throws {
        try await Self.withExecutor { executor, agentId in
            let exec = HealthCheck(probe: .exec(["sh", "-c", "test -f /tmp/ok"]), intervalSeconds: 1, timeoutSeconds: 1, retries: 1)
            let tasks = [
                Self.task("\(agentId)-up", command: Self.server("200 OK"), check: Self.http),
                Self.task("\(agentId)-sick", command: Self.server("503 Service Unavailable"), check: Self.http),
                Self.task("\(agentId)-deaf", command: ["sleep", "60"], check: Self.http),
                Self.task("\(agentId)-exec-ok", command: ["sh", "-c", "touch /tmp/ok; sleep 60"], check: exec),
                Self.task("\(agentId)-exec-bad", command: ["sleep", "60"], check: exec),
            ]
            executor.apply(Assignments.answer(tasks), requestSequence: 1)
            let expected = ["up": "healthy", "sick": "unhealthy", "deaf": "unhealthy", "exec-ok": "healthy", "exec-bad": "unhealthy"]
            let reached = await eventually(.seconds(30)) {
                let health = Self.health(executor, agentId: agentId)
                return health == expected
            }
            #expect(reached, "health: \(Self.health(executor, agentId: agentId))")
            let metrics = executor.metrics.registry.exposition()
            #expect(metrics.contains(#"fuller_agent_health_checks_total{result="pass"} "#)
                    && metrics.contains(#"fuller_agent_health_checks_total{result="fail"} "#))
        }
    }

    @Test func aContainerRemovedBehindTheAgentsBackFailsItsAttemptAndAStrangerIsStopped() async throws {
        try await Self.withExecutor(orphanGrace: .seconds(1)) { executor, agentId in
            guard let docker = executor.engine as? DockerClient else { return }
            let taskId = "\(agentId)-t1"
            let keeper = "\(agentId)-t2"
            let tasks = [Self.task(taskId, command: ["sleep", "60"], check: nil), Self.task(keeper, command: ["sleep", "60"], check: nil)]
            executor.apply(Assignments.answer(tasks), requestSequence: 1)
            #expect(await eventually(.seconds(20)) { Self.report(executor, taskId)?.state == .started && Self.report(executor, keeper)?.state == .started })
            let first = try #require(Self.report(executor, taskId)?.containerId)
            try await docker.removeContainer(first, force: true)  // `docker rm -f`
            #expect(await eventually(.seconds(20)) { Self.report(executor, taskId)?.state == .finished })
            let report = try #require(Self.report(executor, taskId))
            #expect(report.reason == .crashed && report.containerId == first, "\(report)")
            let own = try await docker.listContainers(labels: ["fuller.agent": agentId, "fuller.task": taskId], all: true)
            #expect(own.isEmpty, "no second container under the same attempt")
            // A labelled container of this agent that no task of the master's owns.
            var config = ContainerCreateConfig(image: DockerTestEnvironment.image, command: ["sleep", "60"])
            config.labels = ["fuller.managed": "true", "fuller.agent": agentId, "fuller.task": "\(agentId)-stranger"]
            let stranger = try await docker.createContainer(name: "fuller-\(agentId)-stranger", config)
            try await docker.startContainer(stranger)
            executor.state.withLock { $0.listWanted = true }
            #expect(await eventually(.seconds(20)) {
                executor.heartbeat(sequence: 2, waitMilliseconds: 0).unknownContainers == [stranger]
            })
            let gone = await eventually(.seconds(30)) {
                executor.state.withLock { $0.supervisor.containers[stranger] == nil }
            }
            #expect(gone)
            #expect(await Self.status(docker, stranger) == nil)
            #expect(Self.report(executor, keeper)?.state == .started, "a task's own container is left alone")
        }
    }

    // MARK: Helpers

    static func withExecutor(orphanGrace: Duration = .seconds(60),
                             _ body: @escaping @Sendable (Executor, String) async throws -> Void) async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let agentId = "test-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = Executor.Configuration()
        configuration.supervisor.agentId = agentId
        configuration.supervisor.orphanGrace = orphanGrace
        configuration.supervisor.stopGraceSeconds = 1
        configuration.tickInterval = .milliseconds(100)
        configuration.listInterval = .seconds(1)
        let executor = Executor(engine: docker, configuration: configuration,
                                logger: Logger(component: "test", sink: CapturingLogSink()))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await executor.run() }
                try await body(executor, agentId)
                group.cancelAll()
            }
        } catch {
            await ExecutorDockerTests.removeAll(docker, agentId: agentId)
            throw error
        }
        await ExecutorDockerTests.removeAll(docker, agentId: agentId)
    }

    static func report(_ executor: Executor, _ taskId: String) -> TaskReport? {
        executor.state.withLock { $0.supervisor.reports.first { $0.taskId == taskId } }
    }

    /// Each task's reported health, keyed by the task id without the agent's prefix.
    static func health(_ executor: Executor, agentId: String) -> [String: String] {
        let reports = executor.state.withLock { $0.supervisor.reports }
        var health: [String: String] = [:]
        for report in reports { health[String(report.taskId.dropFirst(agentId.count + 1))] = report.health ?? "none" }
        return health
    }

    static func status(_ docker: DockerClient, _ id: String) async -> String? {
        try? await docker.inspectContainer(id).status
    }
}
