import Foundation
import Glibc
import Testing
import TestSupport
@testable import Model
@testable import Shared

/// Three real `fuller-master` processes replicating through Raft on loopback, broken on
/// purpose while writers submit jobs: no acknowledged job may be lost or exist twice, and the
/// members' stores must end identical.
///
/// Serialized: each test runs three masters (and the partition tests six proxies); running two
/// at once on a small machine would mostly test the scheduler's patience.
@Suite(.serialized) struct ReplicatedMasterTests {
    /// Small, so snapshots, log compaction and snapshot installs happen during a run (a member
    /// more than 10 entries behind a compacted log needs a snapshot).
    static let masterArguments = ["--snapshot-every", "50", "--catch-up-entries", "10"]

    /// Starts three masters and a client, waits for the first leader, runs `body`, and stops
    /// everything (whether `body` threw or not).
    static func withCluster(extraArguments: [String] = [],
                            _ body: (ClusterProcesses, ClusterClient, ClusterView) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cluster = try ClusterProcesses(directory: dir.path)
        defer { cluster.stopAll() }
        try cluster.start(extraArguments: Self.masterArguments + extraArguments)
        let client = ClusterClient(addresses: cluster.members.map(\.apiAddress))
        defer { client.shutdown() }
        let first = try await client.waitForLeader(among: client.addresses)
        try await body(cluster, client, first)
    }

    @Test(.timeLimit(.minutes(3)))
    func killedPausedAndRestartedMastersLoseNoAcknowledgedJob() async throws {
        try await Self.withCluster { cluster, client, first in
            let load = ClusterLoad(client: client, prefix: "crash")

            try await load.run(writers: 4) {
                try await load.waitForAcknowledged(20, "before any fault", logs: cluster.logs())

                // A follower stalls for a few seconds: the leader and the other follower carry on.
                let follower = cluster.members.first { $0.apiAddress != first.address }!
                let pausedAt = ContinuousClock.now
                follower.pause()
                try await load.waitForAcknowledged(10, "while \(follower.name) was paused", logs: cluster.logs())
                try await Task.sleep(until: pausedAt + .seconds(3))
                follower.resume()

                // The leader dies mid-write: the other two elect a new one and writes continue.
                let leader = cluster.member(apiAddress: first.address)!
                leader.kill(SIGKILL)
                let survivors = cluster.members.filter { $0 !== leader }.map(\.apiAddress)
                let second = try await client.waitForLeader(among: survivors, after: first.term)
                // More writes than one snapshot interval while it is down, so the others compact
                // their logs past its last entry and it must catch up from a snapshot.
                try await load.waitForAcknowledged(60, "after \(leader.name) was killed (new leader \(second.selfName))",
                                                   logs: cluster.logs())

                // It comes back with the same id, data and ports, and catches up as a follower.
                try leader.restart()
                try await load.waitForAcknowledged(20, "after \(leader.name) restarted", logs: cluster.logs())

                // The new leader stalls with writes in flight: the other two replace it; when it
                // runs again it must step down, and none of its pending writes may be acknowledged
                // unless it was committed.
                let stalled = cluster.member(apiAddress: second.address)!
                let stalledAt = ContinuousClock.now
                stalled.pause()
                let others = cluster.members.filter { $0 !== stalled }.map(\.apiAddress)
                let third = try await client.waitForLeader(among: others, after: second.term)
                try await load.waitForAcknowledged(20, "while leader \(stalled.name) was paused (new leader \(third.selfName))",
                                                   logs: cluster.logs())
                try await Task.sleep(until: stalledAt + .seconds(3))
                stalled.resume()
                try await load.waitForAcknowledged(20, "after \(stalled.name) resumed", logs: cluster.logs())
            }

            #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { $0.prefix(5) })")
            let jobs = try await ClusterChecks.identicalStores(cluster, client)
            let problems = try await ClusterChecks.acknowledgedWritesKept(load, jobs: jobs)
            #expect(problems.isEmpty, "\(problems.prefix(5))")
            #expect(load.acknowledgedCount >= 150)
        }
    }

    /// A leader paused long enough to be replaced must not, once it runs again, answer a read
    /// from its old state as if it still led: a job the new leader acknowledged is found, or
    /// the old leader sends the client elsewhere (307/503). A 404 would be a stale read.
    @Test(.timeLimit(.minutes(2)))
    func pausedLeaderNeverServesAStaleRead() async throws {
        try await Self.withCluster { cluster, client, first in
            let old = cluster.member(apiAddress: first.address)!
            let majority = ClusterClient(addresses: cluster.members.filter { $0 !== old }.map(\.apiAddress))
            defer { majority.shutdown() }
            guard case .acknowledged = await client.submit(key: "stale-before") else { throw TestFailure("no write before the pause") }

            old.pause()
            defer { old.resume() }
            _ = try await majority.waitForLeader(among: majority.addresses, after: first.term, within: .seconds(15))
            guard case .acknowledged(let id) = await majority.submit(key: "stale-after") else {
                throw TestFailure("the new leader took no write\n\(cluster.logs())")
            }
            old.resume()
            let reader = try client.client(first.address)
            let deadline = ContinuousClock.now + .seconds(2)
            var answers: [Int] = []
            while ContinuousClock.now < deadline {
                let status = (try? await reader.send(.GET, "/v1/jobs/\(id)", timeout: .seconds(2)))?.status ?? 0
                answers.append(status)
                if status == 307 { break }
            }
            #expect(!answers.contains(404), "the old leader answered \(answers) for a job the new leader acknowledged")
        }
    }
}
