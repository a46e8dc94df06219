import Foundation
import Testing
import TestSupport
@testable import Model
@testable import Shared

/// Partitions between masters, made by a `FaultProxy` on every directed link: each master
/// reaches every other master's peer port only through the proxy for that link.
extension ReplicatedMasterTests {
    /// Three masters whose peer links all go through a `FaultNetwork`, and a client for them.
    struct PartitionedGroup {
        let cluster: ClusterProcesses
        let network: FaultNetwork
        let client: ClusterClient

        init(directory: String) throws {
            cluster = try ClusterProcesses(directory: directory)
            network = try FaultNetwork(peerPorts: Dictionary(uniqueKeysWithValues: cluster.members.map { ($0.name, $0.peerPort) }))
            client = ClusterClient(addresses: cluster.members.map(\.apiAddress))
            do {
                try cluster.start(extraArguments: ReplicatedMasterTests.masterArguments, reach: network.port(from:to:))
            } catch {
                stop()
                throw error
            }
        }

        func stop() {
            cluster.stopAll()
            network.stop()
            client.shutdown()
        }

        func name(of view: ClusterView) -> String { cluster.member(apiAddress: view.address)!.name }
        func others(than name: String) -> [ClusterProcesses.Member] { cluster.members.filter { $0.name != name } }
    }

    @Test(.timeLimit(.minutes(3)))
    func isolatedLeaderStepsDownAndTheMajorityCarriesOn() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let group = try PartitionedGroup(directory: dir.path)
        defer { group.stop() }
        let client = group.client
        let first = try await client.waitForLeader(among: client.addresses)
        let old = group.name(of: first)
        let majority = group.others(than: old).map(\.apiAddress)
        let load = ClusterLoad(client: client, prefix: "split")

        try await load.run(writers: 2) {
            try await load.waitForAcknowledged(10, "before the partition", logs: group.cluster.logs())
            group.network.isolate(old, .drop)

            // The majority elects a leader of its own and takes writes.
            let second = try await client.waitForLeader(among: majority, after: first.term, within: .seconds(15))
            try await load.waitForAcknowledged(10, "after \(old) was cut off (new leader \(second.selfName))",
                                               logs: group.cluster.logs())

            // The old leader notices it lost its quorum and steps down.
            try await Self.waitUntil("\(old) steps down", within: .seconds(10)) {
                guard let v = await client.view(first.address) else { return false }
                return v.role != "leader"
            }
            // Writes sent straight to it are refused (503) or redirected, never acknowledged:
            // it cannot reach anyone to commit them.
            for i in 0..<5 {
                let key = "split-probe-\(i)"
                let r = try? await client.client(first.address).send(.POST, "/v1/jobs", headers: ["Idempotency-Key": key],
                                                                    body: ClusterClient.spec, timeout: .seconds(3))
                if let r, r.status == 201, case .string(let id)? = (try? JSONParser.parse(r.bodyBytes))?["id"] {
                    load.record(key, .acknowledged(jobID: id))
                }
                #expect(r.map { [503, 307].contains($0.status) } ?? true, "isolated \(old) answered \(r?.status ?? 0)")
            }

            // Healed, it follows the new leader and catches up.
            let healed = load.acknowledgedCount
            group.network.heal()
            try await Self.waitUntil("\(old) rejoins as a follower", within: .seconds(15)) {
                guard let v = await client.view(first.address) else { return false }
                return v.role == "follower" && v.leader != nil && v.leader != old
            }
            try await load.waitForAcknowledged(10, from: healed, "after healing", logs: group.cluster.logs())
        }

        #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { $0.prefix(5) })")
        let jobs = try await ClusterChecks.identicalStores(group.cluster, client)
        let problems = try await ClusterChecks.acknowledgedWritesKept(load, jobs: jobs)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    enum Asymmetry: String, CaseIterable, Sendable {
        /// The leader's messages reach the follower; the follower's answers are swallowed.
        case leaderCannotHearFollower
        /// The follower hears nothing from the leader but can still reach it (and so may
        /// campaign: pre-vote must keep it from deposing a healthy leader).
        case followerCannotHearLeader
    }

    @Test(.timeLimit(.minutes(3)), arguments: Asymmetry.allCases)
    func asymmetricPartitionStillCommitsThroughTheMajority(_ asymmetry: Asymmetry) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let group = try PartitionedGroup(directory: dir.path)
        defer { group.stop() }
        let client = group.client
        let first = try await client.waitForLeader(among: client.addresses)
        let leader = group.name(of: first)
        let follower = group.others(than: leader)[0].name
        let load = ClusterLoad(client: client, prefix: "asym-\(asymmetry.rawValue)")

        try await load.run(writers: 2) {
            try await load.waitForAcknowledged(10, "before the partition", logs: group.cluster.logs())
            let cutAt = ContinuousClock.now
            switch asymmetry {
            case .leaderCannotHearFollower: group.network.set(from: follower, to: leader, .blackhole)
            case .followerCannotHearLeader: group.network.set(from: leader, to: follower, .drop)
            }
            try await load.waitForAcknowledged(20, "with \(asymmetry) (\(leader)/\(follower))", logs: group.cluster.logs())
            // Hold the cut for several election timeouts, so a follower that would campaign has.
            try await Task.sleep(until: cutAt + .seconds(3))
            try await load.waitForAcknowledged(5, "late in \(asymmetry)", logs: group.cluster.logs())
            group.network.heal()
            try await load.waitForAcknowledged(10, "after healing", logs: group.cluster.logs())
        }

        #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { $0.prefix(5) })")
        let jobs = try await ClusterChecks.identicalStores(group.cluster, client)
        let problems = try await ClusterChecks.acknowledgedWritesKept(load, jobs: jobs)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    /// Polls `condition` every 100 ms until it holds; throws after `limit`.
    static func waitUntil(_ what: String, within limit: Duration, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out after \(limit): \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
