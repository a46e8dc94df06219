import Foundation
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Shared

/// The reconciler's shell in a whole master, with simulated agents and short timeouts: the
/// leader runs passes, proposes their changes, puts their kills into heartbeat answers and
/// counts every action.
@Suite(.serialized) struct ReconcileLoopTests {
    static func start(_ dir: String) throws -> (MasterNode, HTTPClient) {
        var config = MasterNode.Configuration(dataDirectory: dir)
        config.apiPort = 0
        config.fsync = false
        config.reconciler.agentDisconnectedAfter = .milliseconds(400)
        config.reconciler.agentLostAfter = .milliseconds(2_000)
        config.reconciler.missingGrace = .milliseconds(300)
        config.reconcileInterval = .milliseconds(50)
        let node = try MasterNode.start(config)
        return (node, try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)"))
    }

    static let service = #"{"name":"web","owner":"o","type":"service","container":{"image":"img","resources":{"cpu":1,"memoryMB":64}},"#
        + #""service":{"capacity":{"min":0,"desired":2,"max":4},"retryPolicy":{"immediate":{"retries":5}}}}"#

    /// Heartbeats until `condition` holds for the answer (or the store), at most 10 s.
    static func beat(_ agent: SimulatedAgent, reports: @Sendable () -> [TaskReport] = { [] }, sequence: UInt64,
                     until condition: (HeartbeatResponse) -> Bool) async throws -> HeartbeatResponse {
        for _ in 0..<200 {
            if let answer = try await agent.heartbeat(reports: reports(), sequence: sequence).response, condition(answer) { return answer }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("agent \(agent.id): condition not met")
    }

    @Test(.timeLimit(.minutes(1)))
    func aSilentAgentsTasksAreReplacedAndItsStaleTasksKilledWhenItReturns() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let url = "http://127.0.0.1:\(node.apiPort)"
        let a1 = try SimulatedAgent(id: "a1", master: url), a2 = try SimulatedAgent(id: "a2", master: url)
        try await a1.register()
        _ = try await AgentGatewayTests.submit(client, Self.service)
        let first = try await Self.beat(a1, sequence: 1) { $0.assignments.count == 2 }
        let old = first.assignments.map(\.taskId).sorted()
        let running: @Sendable () -> [TaskReport] = { old.map { TaskReport(taskId: $0, state: .started, containerId: "c-\($0)") } }
        _ = try await Self.beat(a1, reports: running, sequence: 2) { _ in true }

        // a1 falls silent; a2 comes up and keeps beating: the old tasks are lost, replaced on a2.
        try await a2.register()
        let replaced = try await Self.beat(a2, sequence: 1) { $0.assignments.count == 2 }
        let new = replaced.assignments.map(\.taskId)
        #expect(Set(new).isDisjoint(with: old))
        for id in old {
            let task = try #require(node.store.read { $0.task(id) })
            #expect(task.state == .finished && task.reason == .lost, "\(task)")
            #expect(task.history.contains { $0.state == .disconnected }, "Disconnected before lost: \(task.history)")
        }

        // a1 returns still running the old tasks: its answer kills them, until it confirms.
        let killed = try await Self.beat(a1, reports: running, sequence: 3) { Set($0.kills) == Set(old) }
        #expect(killed.assignments.isEmpty)
        let done: @Sendable () -> [TaskReport] = { old.map { TaskReport(taskId: $0, state: .finished, reason: .killed) } }
        _ = try await Self.beat(a1, reports: done, sequence: 4) { $0.kills.isEmpty }

        let metrics = String(decoding: try await client.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
        #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="lost"} 2"#), "\(metrics)")
        // a1's two tasks went Disconnected before they were lost; a2, silent while the test
        // talks to a1, may have had its own two marked too on a slow machine.
        let disconnected = metrics.split(separator: "\n").first { $0.hasPrefix(#"fuller_reconcile_actions_total{kind="disconnected"} "#) }
        #expect(disconnected.flatMap { Int($0.split(separator: " ").last!) }.map { $0 == 2 || $0 == 4 } == true, "\(metrics)")
        #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="killStaleTask"} 2"#))
        #expect(metrics.contains("fuller_reconcile_pass_duration_seconds_count"))
        a1.shutdown(); a2.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnhealthyServiceTaskIsKilledOneAtATimeAndReplaced() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try Self.start(dir.path)
        let a1 = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await a1.register()
        let spec = Self.service.replacingOccurrences(of: #""memoryMB":64}"#,
                                                     with: #""memoryMB":64},"healthCheck":{"exec":["true"],"intervalSeconds":1,"timeoutSeconds":1}"#)
        _ = try await AgentGatewayTests.submit(client, spec)
        let first = try await Self.beat(a1, sequence: 1) { $0.assignments.count == 2 }
        let ids = first.assignments.map(\.taskId).sorted()
        // Both turn unhealthy; the default budget lets one be replaced at a time.
        let sick: @Sendable () -> [TaskReport] = {
            ids.map { TaskReport(taskId: $0, state: .started, containerId: "c-\($0)", health: "unhealthy") }
        }
        let answer = try await Self.beat(a1, reports: sick, sequence: 2) { !$0.kills.isEmpty }
        #expect(answer.kills.count == 1 && ids.contains(answer.kills[0]), "\(answer.kills)")
        try await Task.sleep(for: .milliseconds(300))
        let again = try #require(try await a1.heartbeat(reports: sick(), sequence: 3).response)
        #expect(again.kills == answer.kills, "still one at a time")
        let task = try #require(node.store.read { $0.task(answer.kills[0]) })
        #expect(task.state == .killInitiated && task.reason == .failed && task.message?.contains("unhealthy") == true)
        let metrics = String(decoding: try await client.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
        #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="unhealthy"} 1"#))
        #expect(metrics.contains(#"fuller_reconcile_actions_total{kind="unhealthyDeferred"} 1"#))
        // The agent stops it: a replacement is placed in its slot.
        let victim = answer.kills[0]
        let stopped: @Sendable () -> [TaskReport] = {
            sick().map { $0.taskId == victim ? TaskReport(taskId: victim, state: .finished, reason: .killed) : $0 }
        }
        let replaced = try await Self.beat(a1, reports: stopped, sequence: 4) { $0.assignments.contains { !ids.contains($0.taskId) } }
        let replacement = try #require(replaced.assignments.first { !ids.contains($0.taskId) })
        #expect(replacement.index == first.assignments.first { $0.taskId == victim }?.index && replacement.attempt == 1)
        a1.shutdown(); client.shutdown()
        await node.shutdown()
    }

    @Test func flagsSetTheTimeoutsAndRejectALostTimeoutBelowTheDisconnectedOne() throws {
        func parse(_ arguments: [String]) throws -> ParsedArguments {
            guard case .run(let parsed) = try ArgumentParser.parse(arguments, for: ServeCommand.serve, environment: [:]) else {
                throw TestFailure("no run")
            }
            return parsed
        }
        var config = MasterNode.Configuration(dataDirectory: "/unused")
        try ReconcileFlags.apply(try parse(["--agent-disconnected-after", "3s", "--agent-lost-after", "6s",
                                            "--task-launched-timeout", "1m", "--reconcile-interval", "200ms"]), to: &config)
        #expect(config.reconciler.agentDisconnectedAfter == .seconds(3) && config.reconciler.agentLostAfter == .seconds(6))
        #expect(config.reconciler.launchedTimeout == .seconds(60) && config.reconciler.startInitiatedTimeout == .seconds(600))
        #expect(config.reconcileInterval == .milliseconds(200) && config.agentLongPollMax == .seconds(30))
        #expect(throws: UsageError.self) {
            try ReconcileFlags.apply(try parse(["--agent-disconnected-after", "1m", "--agent-lost-after", "30s"]), to: &config)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aMasterWithoutALeaderIsNotReady() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        config.fsync = false
        // One member of a group of three whose peers never answer: no leader is ever elected.
        config.cluster = RaftCluster.Configuration(name: "m1", members: ["m1": "127.0.0.1:0", "m2": "127.0.0.1:1", "m3": "127.0.0.1:1"],
                                                   peerHost: "127.0.0.1", peerPort: 0, apiAddress: "127.0.0.1:0",
                                                   dataDirectory: dir.path + "/raft", fsync: false)
        let node = try MasterNode.start(config)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        try await Task.sleep(for: .milliseconds(1_500))   // several election timeouts
        let ready = try await client.send(.GET, "/readyz")
        #expect(ready.status == 503)
        #expect(String(decoding: ready.bodyBytes, as: UTF8.self).contains("no leader"))
        #expect(try await client.send(.GET, "/healthz").status == 200)
        client.shutdown()
        await node.shutdown()
    }
}
