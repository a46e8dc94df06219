import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Autoscaler
@testable import Master
import Model
import Shared

/// The autoscaler inside a real master (in-process, port 0) with a recording provider: pending
/// tasks from the store become a scale-up, an idle registered agent is drained, terminated and
/// then refused if it registers again; the API and the metrics show what happened.
@Suite(.serialized) struct AutoscalerLoopTests {
    final class RecordingProvider: AutoscalerProvider {
        let calls = Mutex<[(AutoscalerAction, ProviderContext)]>([])
        func perform(_ action: AutoscalerAction, group: GroupRule, context: ProviderContext) -> ActionOutcome {
            calls.withLock { $0.append((action, context)) }
            return .succeeded(agentIds: action.kind == .scaleUp ? ["new-1"] : [], message: "done", attempts: 1)
        }
        var actions: [AutoscalerAction] { calls.withLock { $0.map(\.0) } }
    }

    static func start(_ dir: TemporaryDirectory, provider: RecordingProvider, maxIdle: Int = 1) throws -> MasterNode {
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        config.fsync = false
        var rules = AutoscalerRules(provider: ProviderConfiguration(command: ["unused"]), groups: [
            GroupRule(name: "g", maxSize: 5, maxIdle: maxIdle, cooldownMilliseconds: 0,
                      shape: AgentShape(resources: Resources(cpu: 1, memoryMB: 1_024))),
        ])
        rules.drainSettleMilliseconds = 0
        config.autoscaler = AutoscalerLoop.Settings(rules: rules, interval: .milliseconds(100), provider: provider)
        return try MasterNode.start(config)
    }

    static func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    @Test(.timeLimit(.minutes(1)))
    func pendingTasksThatFitNoAgentScaleUpAndTheAPIAndMetricsSaySo() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let provider = RecordingProvider()
        let node = try Self.start(dir, provider: provider)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        // Two 0.5-cpu tasks, no agents: one new 1-cpu agent holds both.
        #expect(try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8)).status == 201)
        try await Self.waitFor("the scale-up") { !provider.actions.isEmpty }
        let (action, context) = try #require(provider.calls.withLock { $0.first })
        #expect(action.kind == .scaleUp && action.count == 1 && action.group == "g")
        #expect(context.masterURL == "http://127.0.0.1:\(node.apiPort)" && context.currentSize == 0)
        try await Self.waitFor("the outcome") { node.autoscaler?.status.actions.first?.result == .succeeded }
        let status = try JSONParser.parse(try await client.send(.GET, "/v1/autoscaler").bodyBytes)
        #expect(status["enabled"] == .bool(true))
        guard case .array(let actions)? = status["actions"], case .array(let groups)? = status["groups"] else { throw TestFailure("\(status)") }
        #expect(actions.first?["kind"] == .string("scaleUp") && actions.first?["agents"] == .array([.string("new-1")]))
        #expect(actions.first?["result"] == .string("succeeded"))
        #expect(groups.first?["expected"] == .int(1) && groups.first?["shortfallTasks"] == .int(2))
        try Self.expectMatchesSchema(status, "Autoscaler")
        try Self.expectMatchesSchema(groups[0], "AutoscalerGroup")
        try Self.expectMatchesSchema(actions[0], "AutoscalerAction")
        let metrics = String(decoding: try await client.send(.GET, "/metrics").bodyBytes, as: UTF8.self)
        #expect(metrics.contains(#"fuller_autoscaler_actions_total{group="g",kind="scaleUp",result="succeeded"} 1"#))
        #expect(metrics.contains(#"fuller_autoscaler_agents{group="g",state="expected"} 1"#))
        #expect(try MetricsDocumentation.undocumented(in: metrics) == [])
        // Still expected: no second request while the agent boots.
        try await Task.sleep(for: .milliseconds(400))
        #expect(provider.actions.count == 1)
        client.shutdown()
        await node.shutdown()
    }

    /// Every member the API sent is documented in openapi.json's schema, and every required one was sent.
    static func expectMatchesSchema(_ value: JSONValue, _ schema: String) throws {
        let data = try #require(FileManager.default.contents(atPath: OpenAPIRoutesTests.documentPath))
        let document = try JSONParser.parse([UInt8](data))
        let definition = try #require(document["components"]?["schemas"]?[schema])
        guard case .object(let properties)? = definition["properties"], case .array(let required)? = definition["required"],
              case .object(let members) = value else { throw TestFailure("\(schema): not an object schema, or not an object") }
        let documented = Set(properties.map(\.0)), sent = Set(members.map(\.0))
        #expect(sent.subtracting(documented).isEmpty, "\(schema): undocumented \(sent.subtracting(documented).sorted())")
        let missing = required.compactMap { if case .string(let name) = $0, !sent.contains(name) { name } else { nil } }
        #expect(missing.isEmpty, "\(schema): required but not sent \(missing)")
    }

    @Test(.timeLimit(.minutes(1)))
    func anIdleAgentIsDrainedTerminatedAndRefusedAfterwards() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let provider = RecordingProvider()
        let node = try Self.start(dir, provider: provider, maxIdle: 0)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        let registration = Array(#"{"id":"idle-1","hostname":"h","address":"127.0.0.1:1","attributes":{"machineGroup":"g","zone":"a"},"resources":{"cpu":1,"memoryMB":1024}}"#.utf8)
        #expect(try await client.send(.POST, "/v1/agents/register", body: registration).status == 200)
        try await Self.waitFor("the scale-down") { provider.actions.contains { $0.kind == .scaleDown } }
        #expect(provider.actions.map(\.kind) == [.scaleDown])
        #expect(provider.actions.last?.agentIds == ["idle-1"])
        let kinds = node.autoscaler?.status.actions.map(\.action.kind)
        #expect(kinds == [.drain, .scaleDown])
        try await Self.waitFor("the agent retired") { try await client.send(.GET, "/v1/agents/idle-1").status == 404 }
        let again = try await client.send(.POST, "/v1/agents/register", body: registration)
        #expect(again.status == 409)
        #expect(String(decoding: again.bodyBytes, as: UTF8.self).contains("terminated by the autoscaler"))
        client.shutdown()
        await node.shutdown()
    }

    @Test func withoutRulesTheRouteSaysAutoscalingIsOff() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        let node = try MasterNode.start(config)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        let body = String(decoding: try await client.send(.GET, "/v1/autoscaler").bodyBytes, as: UTF8.self)
        #expect(body == #"{"enabled":false,"groups":[],"unmatchedTasks":0,"actions":[]}"#)
        client.shutdown()
        await node.shutdown()
    }
}
