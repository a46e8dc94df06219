import Testing
@testable import Agent
import Model
import Shared

@Suite struct HeartbeatLoopTests {
    static let registration = AgentRegistration(id: "a1", hostname: "host", address: "127.0.0.1:4710",
                                                attributes: ["zone": "z1"], resources: Resources(cpu: 2, memoryMB: 1024))

    static func loop(_ masters: [String], executor: Executor) throws -> HeartbeatLoop {
        var configuration = HeartbeatLoop.Configuration(registration: registration)
        configuration.longPollWait = .milliseconds(500)
        configuration.timeoutSlack = .milliseconds(500)
        configuration.requestTimeout = .seconds(1)
        configuration.backoffInitial = .milliseconds(10)
        configuration.backoffMax = .milliseconds(50)
        var client = HTTPClient.Configuration()
        client.connectTimeout = .milliseconds(200)
        return HeartbeatLoop(configuration: configuration, connection: try MasterConnection(urls: masters, configuration: client),
                             executor: executor, logger: Logger(component: "test", sink: CapturingLogSink()))
    }

    /// Runs the executor and the loop while `body` runs.
    static func running(_ executor: Executor, _ loop: HeartbeatLoop, _ body: () async throws -> Void) async rethrows {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await executor.run() }
            group.addTask { await loop.run() }
            try await body()
            group.cancelAll()
        }
    }

    @Test func anAssignmentRunsAndItsStartIsReportedAtOnce() async throws {
        let master = try FakeMaster()
        let engine = FakeDockerEngine()
        let executor = ExecutorTests.executor(engine)
        let loop = try Self.loop([master.url], executor: executor)
        master.assign(Assignments.answer([Assignments.task("t1")], version: 2))
        try await Self.running(executor, loop) {
            #expect(await eventually { master.heartbeats.contains { $0.reports.first?.state == .started } })
            let started = try #require(master.heartbeats.first { $0.reports.first?.state == .started })
            #expect(started.healthy && started.reports.first?.containerId != nil)
            #expect(loop.status.registered)
            // Counted and timed: the report change went out as an immediate heartbeat.
            let metrics = executor.metrics.registry.exposition()
            #expect(metrics.contains(#"fuller_agent_heartbeats_total{kind="immediate",result="answered"} "#))
            #expect(metrics.contains(#"fuller_agent_heartbeat_seconds_count{kind="immediate"} "#))
            #expect(metrics.contains("fuller_agent_heartbeat_answer_age_seconds "))
        }
        await master.stop()
    }

    @Test func aMasterThatForgotTheAgentGetsItBack() async throws {
        let master = try FakeMaster()
        let executor = ExecutorTests.executor(FakeDockerEngine())
        let loop = try Self.loop([master.url], executor: executor)
        try await Self.running(executor, loop) {
            #expect(await eventually { master.heartbeats.count >= 1 })
            master.forgetAgent()
            #expect(await eventually { master.registrations == 2 })
            let before = master.heartbeats.count
            #expect(await eventually { master.heartbeats.count > before })
        }
        await master.stop()
    }

    @Test func dockerDownIsSentAsUnhealthy() async throws {
        let master = try FakeMaster()
        let engine = FakeDockerEngine()
        engine.setDown(true)
        let executor = ExecutorTests.executor(engine, tickInterval: .milliseconds(10))
        let loop = try Self.loop([master.url], executor: executor)
        try await Self.running(executor, loop) {
            #expect(await eventually { master.heartbeats.contains { !$0.healthy && $0.message?.contains("connection refused") == true } })
            engine.setDown(false)
            #expect(await eventually { master.heartbeats.last?.healthy == true })
        }
        await master.stop()
    }

    @Test func anUnreachableMasterIsSkipped() async throws {
        let master = try FakeMaster()
        let executor = ExecutorTests.executor(FakeDockerEngine())
        // Port 1 on loopback refuses connections.
        let loop = try Self.loop(["http://127.0.0.1:1", master.url], executor: executor)
        try await Self.running(executor, loop) {
            #expect(await eventually { master.registrations == 1 && master.heartbeats.count >= 1 })
            #expect(loop.status.master == master.url)
        }
        await master.stop()
    }
}
