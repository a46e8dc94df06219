import Foundation
import Glibc
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Shared
@testable import Storage

/// A master whose disk refuses a write stops (fail-stop): every route but liveness and metrics
/// answers 503 `storage_failed`, it leads nothing, and after a restart nothing acknowledged is
/// lost. In-process, with the fault injected under the test's own data directory.
@Suite(.serialized) struct StorageFailureTests {
    @Test(.timeLimit(.minutes(1)))
    func singleMasterStopsServingWhenItsDiskFills() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        config.fsync = false
        let acknowledged = try await Self.failOnce(config, dir: dir.path)
        let restarted = try MasterNode.start(config)
        let client = try HTTPClient(url: "http://127.0.0.1:\(restarted.apiPort)")
        #expect(try await client.send(.GET, "/v1/jobs/\(acknowledged)").status == 200)
        client.shutdown()
        await restarted.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func replicatedMasterStopsLeadingWhenItsDiskFills() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let peerPort = try FreePort.pick()
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        config.cluster = RaftCluster.Configuration(name: "m1", members: ["m1": "127.0.0.1:\(peerPort)"], peerHost: "127.0.0.1",
                                                   peerPort: peerPort, apiAddress: "", dataDirectory: dir.path, fsync: false)
        let acknowledged = try await Self.failOnce(config, dir: dir.path)
        let restarted = try MasterNode.start(config)
        let client = try HTTPClient(url: "http://127.0.0.1:\(restarted.apiPort)")
        try await Self.waitUntilReady(client)
        #expect(try await client.send(.GET, "/v1/jobs/\(acknowledged)").status == 200)
        client.shutdown()
        await restarted.shutdown()
    }

    /// An agent long-polling the master when its storage fails hears 503 at once, not a 200
    /// with frozen assignments when its wait ends: it moves to another master now.
    @Test(.timeLimit(.minutes(1)))
    func heldHeartbeatIsAnsweredWithStorageFailedAtOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        config.fsync = false
        let node = try MasterNode.start(config)
        let agent = try SimulatedAgent(id: "held-agent", master: "http://127.0.0.1:\(node.apiPort)")
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        defer { agent.shutdown(); client.shutdown() }
        try await agent.register()
        let version = try #require(try await agent.heartbeat().response?.assignmentsVersion)
        let started = ContinuousClock.now
        let held = Task { try await agent.heartbeat(version: version, waitMs: 20_000, sequence: 2).status }
        while node.registry.entry("held-agent")?.waiter == nil {
            try #require(ContinuousClock.now - started < .seconds(10), "the heartbeat was never held")
            try await Task.sleep(for: .milliseconds(10))
        }
        let watch = StorageFaults.watch(dir.path, rules: [StorageFaults.Rule(.write, .fail(errno: EIO))])
        defer { StorageFaults.remove(watch) }
        #expect(try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8)).status == 503)
        #expect(try await held.value == 503)
        #expect(ContinuousClock.now - started < .seconds(10))
        await node.shutdown()
    }

    /// With tokens, the token check still comes first: a caller without one learns nothing about
    /// this master's disk; `/readyz` (open) and callers with a token get 503 `storage_failed`.
    @Test func tokensAreCheckedBeforeTheStorageFailureAnswer() async throws {
        try await MasterAccessTests.withNode { node in
            node.health.fail(StorageError.io("write \(node.configuration.dataDirectory)/wal/x", errno: EIO))
            #expect(MasterAccessTests.call(node, .GET, "/v1/jobs", token: nil).status == 401)
            let refused = MasterAccessTests.call(node, .GET, "/v1/jobs", token: "read-token-0123456789")
            #expect(refused.status == 503 && Self.errorCode(refused) == "storage_failed")
            #expect(Self.errorCode(MasterAccessTests.call(node, .GET, "/readyz", token: nil)) == "storage_failed")
            #expect(MasterAccessTests.call(node, .GET, "/healthz", token: nil).status == 200)
        }
    }

    /// Starts a master, writes one job, fills its disk, checks it fails stop, stops it, and
    /// returns the id of the job acknowledged before.
    static func failOnce(_ config: MasterNode.Configuration, dir: String) async throws -> String {
        let node = try MasterNode.start(config)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        defer { client.shutdown() }
        try await waitUntilReady(client)
        let created = try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8))
        try #require(created.status == 201)
        guard case .string(let id)? = try JSONParser.parse(created.bodyBytes)["id"] else { throw TestFailure("no id") }

        let watch = StorageFaults.watch(dir, rules: [StorageFaults.Rule(.write, .fail(errno: ENOSPC))])
        defer { StorageFaults.remove(watch) }
        let refused = try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8))
        #expect(refused.status == 503 && errorCode(refused) == "storage_failed", "\(refused.status) \(text(refused))")
        #expect(text(refused).contains("No space left on device"), "\(text(refused))")
        // Not "too many writes queued": a client must learn to go elsewhere, not to retry here.
        let again = try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8))
        #expect(errorCode(again) == "storage_failed", "\(again.status) \(text(again))")
        let problems = await failStopProblems(client)
        #expect(problems.isEmpty, "\(problems)")
        #expect(node.health.failed?.errno == ENOSPC)
        if case .raft(let cluster) = node.replication { #expect(cluster.replicator.status.role != .leader) }
        await node.shutdown()
        return id
    }

    /// What a client and an agent see from a master whose storage failed; empty when every
    /// answer is right.
    static func failStopProblems(_ client: HTTPClient) async -> [String] {
        var w = JSONWriter()
        AgentRegistration(id: "disk-agent", hostname: "disk-agent.test", address: "127.0.0.1:0", attributes: [:],
                          resources: Resources(cpu: 1, memoryMB: 64)).write(to: &w)
        let heartbeat = HeartbeatRequest(sequence: 1, assignmentsVersion: 0, healthy: true, reports: [], waitMilliseconds: 0).encoded()
        let calls: [(HTTPMethod, String, [UInt8])] = [
            (.GET, "/readyz", []), (.GET, "/v1/jobs", []), (.GET, "/v1/cluster", []),
            (.POST, "/v1/agents/register", w.bytes), (.POST, "/v1/agents/disk-agent/heartbeat", heartbeat),
        ]
        var problems: [String] = []
        for (method, target, body) in calls {
            guard let r = try? await client.send(method, target, body: body, timeout: .seconds(5)) else {
                problems.append("\(method) \(target): no answer")
                continue
            }
            if r.status != 503 || errorCode(r) != "storage_failed" { problems.append("\(method) \(target): \(r.status) \(text(r))") }
        }
        let live = try? await client.send(.GET, "/healthz", timeout: .seconds(5))
        if live?.status != 200 { problems.append("GET /healthz: \(live?.status ?? 0)") }
        let metrics = (try? await client.send(.GET, "/metrics", timeout: .seconds(5))).map(text) ?? ""
        if !metrics.contains("\nfuller_storage_failed 1") { problems.append("GET /metrics: no fuller_storage_failed 1") }
        return problems
    }

    static func waitUntilReady(_ client: HTTPClient, within limit: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + limit
        while (try? await client.send(.GET, "/readyz"))?.status != 200 {
            guard ContinuousClock.now < deadline else { throw TestFailure("not ready after \(limit)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func errorCode(_ r: HTTPResponse) -> String? {
        guard case .string(let code)? = (try? JSONParser.parse(r.bodyBytes))?["error"]?["code"] else { return nil }
        return code
    }

    static func text(_ r: HTTPResponse) -> String { String(decoding: r.bodyBytes, as: UTF8.self) }
}
