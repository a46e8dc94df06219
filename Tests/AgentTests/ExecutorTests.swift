import Testing
@testable import Agent
import Model
import Shared

@Suite struct ExecutorTests {
    static func executor(_ engine: FakeDockerEngine, maxInFlight: Int = 16, listInterval: Duration = .seconds(3600),
                         tickInterval: Duration = .seconds(3600)) -> Executor {
        var configuration = Executor.Configuration()
        configuration.maxInFlight = maxInFlight
        configuration.listInterval = listInterval
        configuration.tickInterval = tickInterval
        configuration.recoveryInitial = .milliseconds(10)
        configuration.recoveryMax = .milliseconds(50)
        configuration.supervisor.retryInitial = .milliseconds(10)
        configuration.supervisor.retryMax = .milliseconds(50)
        return Executor(engine: engine, configuration: configuration, logger: Logger(component: "test", sink: CapturingLogSink()))
    }

    /// Runs `body` while the executor runs, then cancels it.
    static func running(_ executor: Executor, _ body: () async throws -> Void) async rethrows {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await executor.run() }
            try await body()
            group.cancelAll()
        }
    }

    @Test func boundsDockerCallsInFlight() async throws {
        let engine = FakeDockerEngine()
        let executor = Self.executor(engine, maxInFlight: 4)
        engine.holdCreates(true)
        try await Self.running(executor) {
            #expect(await eventually { executor.state.withLock { $0.supervisor.listed } })
            let tasks = (0..<12).map { Assignments.task("t\($0)", index: $0) }
            executor.apply(Assignments.answer(tasks), requestSequence: 1)
            #expect(await eventually { engine.createCount == 4 })
            #expect(engine.createCount == 4 && engine.inFlightMax <= 4)
            engine.holdCreates(false)
            #expect(await eventually { executor.heartbeat(sequence: 2, waitMilliseconds: 0).reports.filter { $0.state == .started }.count == 12 })
            #expect(engine.inFlightMax <= 4 && engine.createCount == 12)
        }
    }

    /// A master (or an assignment forged in its name) asks for what this agent's operator forbade.
    @Test func anAssignmentThisAgentsPolicyRefusesNeverRuns() async throws {
        let engine = FakeDockerEngine()
        let executor = Self.executor(engine)
        var privileged = Assignments.task("t1")
        privileged.container.privileged = true
        var mounted = Assignments.task("t2", index: 1)
        mounted.container.mounts = [Mount(hostPath: "/etc", containerPath: "/host-etc")]
        try await Self.running(executor) {
            #expect(await eventually { executor.state.withLock { $0.supervisor.listed } })
            executor.apply(Assignments.answer([privileged, mounted]), requestSequence: 1)
            #expect(await eventually { executor.heartbeat(sequence: 2, waitMilliseconds: 0).reports.filter { $0.state == .finished }.count == 2 })
            let reports = executor.heartbeat(sequence: 3, waitMilliseconds: 0).reports
            #expect(reports.allSatisfy { $0.reason == .invalidRequest }, "\(reports)")
            #expect(reports[0].message?.contains("container.privileged") == true && reports[1].message?.contains("container.mounts[0].hostPath") == true,
                    "\(reports)")
            #expect(engine.createCount == 0)
        }
    }

    @Test func anExitIsReportedFromTheEventStreamAlone() async throws {
        let engine = FakeDockerEngine()
        let executor = Self.executor(engine)  // no periodic list or tick within the test
        try await Self.running(executor) {
            #expect(await eventually { executor.state.withLock { $0.supervisor.listed } })
            executor.apply(Assignments.answer([Assignments.task("t1")]), requestSequence: 1)
            #expect(await eventually { executor.heartbeat(sequence: 2, waitMilliseconds: 0).reports.first?.state == .started })
            let id = try #require(engine.containers.values.first?.id)
            let changes = executor.changes.version
            engine.exit(id, code: 3)
            #expect(await eventually { executor.heartbeat(sequence: 3, waitMilliseconds: 0).reports.first?.state == .finished })
            let report = executor.heartbeat(sequence: 4, waitMilliseconds: 0).reports.first
            #expect(report?.exitCode == 3 && report?.reason == .failed && report?.message?.contains("boom") == true)
            #expect(executor.changes.version > changes)
        }
    }

    @Test func dockerDownIsUnhealthyAndRecoveryReadopts() async throws {
        let engine = FakeDockerEngine()
        let existing = engine.state.withLock { state in
            let id = state.docker.add(task: "t1", status: "running")
            state.docker.containers[id]!.labels["fuller.agent"] = "a1"
            return id
        }
        engine.setDown(true)
        let executor = Self.executor(engine, tickInterval: .milliseconds(10))
        try await Self.running(executor) {
            #expect(await eventually { executor.health.message?.contains("connection refused") == true })
            let request = executor.heartbeat(sequence: 1, waitMilliseconds: 0)
            #expect(!request.healthy && request.message?.contains("docker unavailable") == true)
            executor.apply(Assignments.answer([Assignments.task("t1")]), requestSequence: 1)
            engine.setDown(false)
            #expect(await eventually { executor.health.available })
            #expect(await eventually { executor.heartbeat(sequence: 2, waitMilliseconds: 0).reports.first?.containerId == existing })
            #expect(engine.createCount == 0)
            #expect(executor.heartbeat(sequence: 3, waitMilliseconds: 0).healthy)
        }
    }
}
