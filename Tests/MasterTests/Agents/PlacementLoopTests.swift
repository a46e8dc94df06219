import Foundation
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Shared

/// The placement loop in a whole master, with a simulated agent.
@Suite(.serialized) struct PlacementLoopTests {
    static func job(size: Int, memoryMB: Int) -> String {
        #"{"name":"j","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.1,"memoryMB":\#(memoryMB)}},"#
            + #""batch":{"size":\#(size)}}"#
    }

    /// More tasks that fit no agent than one iteration looks at must not stop a task submitted
    /// after them from being placed (before, every iteration took the same first batch).
    @Test(.timeLimit(.minutes(1)))
    func tasksThatFitNowhereDoNotHoldBackTheOnesBehindThem() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try AgentGatewayTests.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        _ = try await AgentGatewayTests.submit(client, Self.job(size: 1_500, memoryMB: 1_000_000))
        let small = try await AgentGatewayTests.submit(client, Self.job(size: 1, memoryMB: 64))
        var placed = false
        for _ in 0..<100 where !placed {
            let answer = try #require(try await agent.heartbeat().response)
            placed = answer.assignments.contains { $0.jobId == small }
            if !placed { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(placed, "the small job's task was never placed behind 1,500 that fit nowhere")
        // The big ones still say why they wait.
        let waiting = try #require(node.store.read { s in s.pendingTasks(nowMs: .max, limit: 1).first })
        let task = try JSONParser.parse(try await client.send(.GET, "/v1/tasks/\(waiting.id)").bodyBytes)
        #expect(task["pendingReason"]?.stringValue?.contains("insufficient memory") == true, "\(task)")
        client.shutdown()
        await node.shutdown()
    }

    /// A job the master's policy refuses may still reach the log (a leader with other flags, an
    /// older build, a peer taken over): the leader never places it, and kills it instead.
    @Test(.timeLimit(.minutes(1)))
    func aJobThePolicyRefusesIsKilledNotPlaced() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (node, client) = try AgentGatewayTests.start(dir.path)
        let agent = try SimulatedAgent(id: "a1", master: "http://127.0.0.1:\(node.apiPort)")
        try await agent.register()
        var spec = try JobSpec(json: try JSONParser.parse(Self.job(size: 1, memoryMB: 64)))
        spec.container.privileged = true
        let created = AsyncStream<Void>.makeStream()
        node.replication.replicator.propose(.createJob(jobId: "j-privileged", spec: spec, idempotencyKey: nil, atMs: 1)) { _ in
            created.continuation.finish()
        }
        for await _ in created.stream {}
        let ordinary = try await AgentGatewayTests.submit(client, Self.job(size: 1, memoryMB: 64))
        var placedOrdinary = false
        for _ in 0..<100 where !placedOrdinary {
            let answer = try #require(try await agent.heartbeat().response)
            #expect(!answer.assignments.contains { $0.jobId == "j-privileged" })
            placedOrdinary = answer.assignments.contains { $0.jobId == ordinary }
            if !placedOrdinary { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(placedOrdinary)
        #expect(node.store.read { $0.job("j-privileged")?.state } != .accepted)
        client.shutdown()
        await node.shutdown()
    }
}
