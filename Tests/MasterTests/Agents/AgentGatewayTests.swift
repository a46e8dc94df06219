import Foundation
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Shared

/// The agent protocol against a whole master in-process, with simulated agents.
@Suite(.serialized) struct AgentGatewayTests {
    static func start(_ dir: String) throws -> (MasterNode, HTTPClient) {
        var config = MasterNode.Configuration(dataDirectory: dir)
        config.apiPort = 0
        config.heartbeatIntervalMilliseconds = 1_000
        let node = try MasterNode.start(config)
        return (node, try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)"))
    }

    static func submit(_ client: HTTPClient, _ body: String) async throws -> String {
        let r = try await client.send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, case .string(let id)? = try JSONParser.parse(r.bodyBytes)["id"] else {
            throw TestFailure("submit: \(r.status)")
        }
        return id
    }

    static func job(_ client: HTTPClient, _ id: String) async throws -> JSONValue {
        try JSONParser.parse(try await client.send(.GET, "/v1/jobs/\(id)").bodyBytes)
    }

    static func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aHeldHeartbeatCarriesANewTaskAtOnceAndReportsDriveTheTask() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        let first = try #require(try await agent.heartbeat().response)
        #expect(first.assignments.isEmpty)
        // Hold a long poll, then submit: the poll must come back with the task long before 20 s.
        let started = ContinuousClock.now
        async let held = agent.heartbeat(version: first.assignmentsVersion, waitMs: 20_000)
        try await Task.sleep(for: .milliseconds(50))
        let jobId = try await Self.submit(client, Samples.batch.replacingOccurrences(of: #""size":2"#, with: #""size":1"#))
        let answer = try #require(try await held.response)
        #expect(ContinuousClock.now - started < .seconds(5))
        let assignment = try #require(answer.assignments.first)
        #expect(assignment.jobId == jobId && assignment.container.image == "fuller/test:1")
        // Reports move the task forward; a finished batch task finishes the job.
        _ = try await agent.heartbeat(version: answer.assignmentsVersion,
                                      reports: [TaskReport(taskId: assignment.taskId, state: .started, containerId: "c1", ip: "10.1.0.2")])
        try await Self.waitUntil("Started") { node.store.read { $0.task(assignment.taskId)?.state } == .started }
        #expect(node.store.read { $0.task(assignment.taskId)?.ip } == "10.1.0.2")
        _ = try await agent.heartbeat(reports: [TaskReport(taskId: assignment.taskId, state: .finished, exitCode: 0, reason: .normal)])
        try await Self.waitUntil("job finished") { try await Self.job(client, jobId)["state"] == .string("Finished") }
        let last = try #require(try await agent.heartbeat().response)
        #expect(last.assignments.isEmpty, "an acknowledged finished task leaves the assignments")
        agent.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func killsReachTheAgentAndKeepTheirReason() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        let jobId = try await Self.submit(client, Samples.service)
        var answer = try #require(try await agent.heartbeat().response)
        try await Self.waitUntil("placed") {
            answer = try #require(try await agent.heartbeat().response)
            return answer.assignments.count == 2
        }
        let reports = answer.assignments.map { TaskReport(taskId: $0.taskId, state: .started, containerId: "c-\($0.taskId)") }
        _ = try await agent.heartbeat(reports: reports)
        try await Self.waitUntil("started") { node.store.read { s in s.tasks(ofJob: jobId).allSatisfy { $0.state == .started } } }
        #expect(try await client.send(.DELETE, "/v1/jobs/\(jobId)").status == 200)
        let killAnswer = try #require(try await agent.heartbeat().response)
        #expect(Set(killAnswer.kills) == Set(answer.assignments.map(\.taskId)) && killAnswer.assignments.isEmpty)
        _ = try await agent.heartbeat(reports: killAnswer.kills.map { TaskReport(taskId: $0, state: .finished, exitCode: 143, reason: .failed) })
        try await Self.waitUntil("job finished") { try await Self.job(client, jobId)["state"] == .string("Finished") }
        #expect(node.store.read { s in s.tasks(ofJob: jobId).allSatisfy { $0.reason == .killed && $0.exitCode == 143 } })
        agent.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func placementRespectsCapacityDrainAndUnknownAgents() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let small = try SimulatedAgent(id: "small", master: "http://127.0.0.1:\(node.apiPort)", resources: Resources(cpu: 1, memoryMB: 1_024))
        try await small.register()
        #expect(try await SimulatedAgent(id: "ghost", master: "http://127.0.0.1:\(node.apiPort)").heartbeat().status == 404)
        // Two 1-cpu tasks, one 1-cpu agent: one placed, one waits with a reason.
        let jobId = try await Self.submit(client, Samples.service)
        try await Self.waitUntil("one placed") { node.store.read { $0.tasks(onAgent: "small").count } == 1 }
        let waiting = try #require(node.store.read { s in s.tasks(ofJob: jobId).first { $0.state == .accepted } })
        try await Self.waitUntil("reason recorded") { node.placement.unplacedReasons(waiting.id) == ["insufficient cpu": 1] }
        // The API and the metrics explain it.
        let shown = try JSONParser.parse(try await client.send(.GET, "/v1/tasks/\(waiting.id)").bodyBytes)
        #expect(shown["pendingReason"] == .string("1 agent: insufficient cpu"), "\(shown)")
        #expect(shown["pendingReasons"]?["insufficient cpu"] == .int(1), "\(shown)")
        let metrics = String(decoding: try await client.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
        #expect(metrics.contains("fuller_scheduler_failures_total{reason=\"insufficient cpu\"}"))
        #expect(metrics.contains("fuller_scheduler_placements_total 1") && metrics.contains("fuller_scheduler_iteration_seconds_count"))
        // Draining stops new placements; a second agent takes the waiting task.
        #expect(try await client.send(.POST, "/v1/agents/small/drain").status == 200)
        let big = try SimulatedAgent(id: "big", master: "http://127.0.0.1:\(node.apiPort)")
        try await big.register()
        try await Self.waitUntil("placed on big") { node.store.read { $0.task(waiting.id)?.agentId } == "big" }
        let agents = try JSONParser.parse(try await client.send(.GET, "/v1/agents").bodyBytes)
        guard case .array(let items)? = agents["items"] else { throw TestFailure("no items") }
        #expect(items.compactMap { $0["state"] } == [.string("ready"), .string("draining")])
        #expect(try await client.send(.GET, "/v1/agents/nope").status == 404)
        small.shutdown(); big.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func aFailedTaskIsReplacedAndPlacedAgain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        let body = Samples.batch.replacingOccurrences(of: #""size":2"#, with: #""size":1,"retryPolicy":{"immediate":{"retries":1}}"#)
        let jobId = try await Self.submit(client, body)
        try await Self.waitUntil("placed") { node.store.read { $0.tasks(onAgent: "a1").count } == 1 }
        let first = try #require(node.store.read { $0.tasks(onAgent: "a1").first })
        _ = try await agent.heartbeat(reports: [TaskReport(taskId: first.id, state: .finished, exitCode: 3, reason: .failed)])
        try await Self.waitUntil("retry placed") { node.store.read { s in s.tasks(onAgent: "a1").contains { $0.attempt == 1 } } }
        #expect(node.store.read { $0.task(first.id)?.exitCode } == 3)
        #expect(try await Self.job(client, jobId)["state"] == .string("Accepted"))
        agent.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func stoppingAnswersHeldHeartbeatsInsteadOfWaitingOutTheGrace() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        let first = try #require(try await agent.heartbeat().response)
        async let held = agent.heartbeat(version: first.assignmentsVersion, waitMs: 20_000)
        try await Self.waitUntil("the heartbeat held") { node.registry.entry("a1")?.waiter != nil }
        let started = ContinuousClock.now
        await node.shutdown(grace: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(5), "shutdown waited for the long poll")
        #expect(try await held.status == 200)
        agent.shutdown(); client.shutdown()
    }
}

extension AgentGatewayTests {
    /// A task's health, as its agent reports it, reaches the store and `GET /v1/tasks/{id}`; a
    /// repeated report of the same health proposes nothing new.
    @Test(.timeLimit(.minutes(1)))
    func reportedHealthIsShownOnTheTask() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        _ = try await Self.submit(client, Samples.batch.replacingOccurrences(of: #""size":2"#, with: #""size":1"#))
        var answer = try #require(try await agent.heartbeat().response)
        try await Self.waitUntil("placed") {
            answer = try #require(try await agent.heartbeat().response)
            return !answer.assignments.isEmpty
        }
        let taskId = try #require(answer.assignments.first?.taskId)
        for health in ["starting", "healthy", "unhealthy"] {
            _ = try await agent.heartbeat(reports: [TaskReport(taskId: taskId, state: .started, containerId: "c1", health: health)])
            try await Self.waitUntil(health) { node.store.read { $0.task(taskId)?.health } == health }
        }
        let shown = try JSONParser.parse(try await client.send(.GET, "/v1/tasks/\(taskId)").bodyBytes)
        #expect(shown["health"] == .string("unhealthy") && shown["state"] == .string("Started"))
        #expect(ReportProcessor.update(for: TaskReport(taskId: taskId, state: .started, containerId: "c1", health: "unhealthy"),
                                       agentId: "a1", store: node.store.read { $0 }, nowMs: 0) == nil)
        // The same master's metrics: each agent's heartbeat age, and the placement that ran.
        let metrics = String(decoding: try await client.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
        #expect(metrics.contains(#"fuller_agent_heartbeat_age_seconds{agent="a1"} "#) && metrics.contains("fuller_agents 1\n"))
        #expect(!metrics.contains("fuller_scheduler_iteration_seconds_count 0\n"))
        agent.shutdown(); client.shutdown()
        await node.shutdown()
    }
}
