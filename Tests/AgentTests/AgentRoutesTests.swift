import Testing
@testable import Agent
@testable import Shared
import Synchronization

@Suite struct AgentRoutesTests {
    @Test func healthzAnswersOK() {
        let reply = Mutex<HTTPResponse?>(nil)
        AgentRoutes.router().handle(HTTPRequest(method: .GET, target: "/healthz")) { r in reply.withLock { $0 = r } }
        let response = reply.withLock { $0 }
        #expect(response?.status == 200)
        #expect(String(decoding: response?.bodyBytes ?? [], as: UTF8.self) == #"{"status":"ok"}"#)
    }

    @Test func otherPathsAre404() {
        let reply = Mutex<HTTPResponse?>(nil)
        AgentRoutes.router().handle(HTTPRequest(method: .GET, target: "/v1/nothing")) { r in reply.withLock { $0 = r } }
        #expect(reply.withLock { $0 }?.status == 404)
    }
}

extension AgentRoutesTests {
    static func get(_ target: String, _ router: Router) -> HTTPResponse? {
        let reply = Mutex<HTTPResponse?>(nil)
        router.handle(HTTPRequest(method: .GET, target: target)) { r in reply.withLock { $0 = r } }
        return reply.withLock { $0 }
    }

    static func readyz(_ checks: [AgentRoutes.ReadinessCheck]) -> (status: Int?, body: String) {
        let response = get("/readyz", AgentRoutes.router(readiness: checks))
        return (response?.status, String(decoding: response?.bodyBytes ?? [], as: UTF8.self))
    }

    static let dockerUp = AgentRoutes.dockerCheck { DockerHealth(available: true) }
    static let masterUp = AgentRoutes.masterCheck { .init(registered: true, lastError: nil, master: "http://m1:4700") }

    @Test func readyzSaysWhichCheckFailsAndWhy() {
        let down = DockerHealth(available: false, message: "docker unavailable: connection refused")
        let (status, body) = Self.readyz([AgentRoutes.dockerCheck { down }, Self.masterUp])
        #expect(status == 503)
        #expect(body == #"{"status":"unavailable","checks":{"docker":{"ok":false,"message":"docker unavailable: connection refused"},"master":{"ok":true,"url":"http://m1:4700"}}}"#)
        #expect(Self.readyz([Self.dockerUp, Self.masterUp]).status == 200)
    }

    @Test func readyzWantsTheLastHeartbeatAnswered() {
        let unanswered = AgentRoutes.masterCheck { .init(registered: true, lastError: "master unreachable: refused", master: "http://m1:4700") }
        let (status, body) = Self.readyz([Self.dockerUp, unanswered])
        #expect(status == 503 && body.contains(#""master":{"ok":false,"message":"master unreachable: refused""#))
        let unregistered = AgentRoutes.masterCheck { .init() }
        #expect(Self.readyz([Self.dockerUp, unregistered]).body.contains(#""master":{"ok":false,"message":"not registered yet"}"#))
    }

    @Test func readyzTakesAnyNamedCheck() {
        let metadata = AgentRoutes.ReadinessCheck("metadata") { .init(ok: false, message: "not listening") }
        let (status, body) = Self.readyz([Self.dockerUp, Self.masterUp, metadata])
        #expect(status == 503 && body.hasSuffix(#""metadata":{"ok":false,"message":"not listening"}}}"#))
    }

    @Test func metricsServesTheAgentsRegistry() async throws {
        let metrics = AgentMetrics()
        let engine = FakeDockerEngine()
        var configuration = Executor.Configuration()
        configuration.tickInterval = .seconds(3600)
        let executor = Executor(engine: MeasuredDockerEngine(engine: engine, metrics: metrics), configuration: configuration,
                                logger: Logger(component: "test", sink: CapturingLogSink()), metrics: metrics)
        try await ExecutorTests.running(executor) {
            executor.apply(Assignments.answer([Assignments.task("t1")]), requestSequence: 1)
            #expect(await eventually { executor.heartbeat(sequence: 2, waitMilliseconds: 0).reports.first?.ip != nil })
        }
        let response = Self.get("/metrics", AgentRoutes.router(metrics: metrics.registry))
        #expect(response?.status == 200 && response?.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = String(decoding: response?.bodyBytes ?? [], as: UTF8.self)
        for line in [#"fuller_agent_containers{state="running"} 1"#, #"fuller_agent_containers{state="exited"} 0"#,
                     #"fuller_agent_docker_request_seconds_count{operation="create"} 1"#,
                     #"fuller_agent_docker_request_seconds_count{operation="start"} 1"#,
                     #"fuller_agent_reconcile_actions_total{kind="create"} 1"#] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }
    }
}
