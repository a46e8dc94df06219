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
    /// Small, so snapshots, log compaction and snapshot installs happen during a run.
    static let masterArguments = ["--snapshot-every", "50"]

    @Test(.timeLimit(.minutes(3)))
    func leaderKilledFollowerPausedAndRestartLoseNoAcknowledgedJob() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cluster = try ClusterProcesses(directory: dir.path)
        defer { cluster.stopAll() }
        try cluster.start(extraArguments: Self.masterArguments)
        let client = ClusterClient(addresses: cluster.members.map(\.apiAddress))
        defer { client.shutdown() }
        let first = try await client.waitForLeader(among: client.addresses)
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
        }

        #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { $0.prefix(5) })")
        let jobs = try await ClusterChecks.identicalStores(cluster, client)
        let problems = try await ClusterChecks.acknowledgedWritesKept(load, jobs: jobs)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(load.acknowledgedCount >= 110)
    }
}
