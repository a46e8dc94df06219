import Testing
@testable import Agent
import Model
import Shared
import TestSupport

/// Every metric the agent registers is in `docs/metrics.md`.
@Suite struct MetricsDocumentationTests {
    @Test func everyAgentMetricIsDocumented() throws {
        let metrics = AgentMetrics()
        let executor = Executor(engine: MeasuredDockerEngine(engine: FakeDockerEngine(), metrics: metrics),
                                logger: Logger(component: "test", sink: CapturingLogSink()), metrics: metrics)
        let connection = try MasterConnection(urls: ["http://127.0.0.1:1"])
        let registration = AgentRegistration(id: "a1", hostname: "h", address: "127.0.0.1:0", attributes: [:],
                                             resources: Resources(cpu: 1, memoryMB: 64))
        let heartbeat = HeartbeatLoop(configuration: .init(registration: registration), connection: connection, executor: executor)
        let exposition = metrics.registry.exposition()
        #expect(MetricsDocumentation.registered(in: exposition).count >= 9)
        #expect(try MetricsDocumentation.undocumented(in: exposition) == [])
        _ = heartbeat
        connection.shutdown()
    }
}
