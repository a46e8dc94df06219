import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import Model
@testable import Shared

/// Membership changes and leadership handover on real `fuller-master` processes.
@Suite(.serialized) struct MembershipProcessTests {
    @Test(.timeLimit(.minutes(2)))
    func growToFourThenRemoveTheLeaderWhileWritesContinue() async throws {
        // Snapshots every few entries and no log kept before them: m4 catches up from one, and
        // learns addresses from it.
        let group = try MasterGroup(names: ["m1", "m2", "m3"], extraArguments: ["--snapshot-every", "4", "--catch-up-entries", "0"])
        defer { group.stop() }
        let first = try await group.leader()
        let j1 = try group.submit("before")
        for i in 0..<8 { _ = try group.submit("filler-\(i)") }

        let m4 = try group.start("m4", join: true)
        let add = try runCLI(["cluster", "add", "m4", group.peerAddress("m4"), "--server", group.url(first)])
        #expect(add.status == 0, "\(add.output)")
        #expect(add.output.contains("it votes"))
        // The new master caught up: it holds what was written before it joined, and after.
        let j2 = try group.submit("after-add")
        for id in [j1, j2] { try await eventually("m4 has \(id)") { try group.get(m4, "/v1/jobs/\(id)?stale=true").status == 200 } }
        let view = try group.clusterView(first)
        #expect(view.voters == ["m1", "m2", "m3", "m4"])
        #expect(view.peerAddresses["m4"] == group.peerAddress("m4"))

        // A master restarted with its original --peers still reaches m4: the address is in its log.
        let follower = ["m1", "m2", "m3"].first { $0 != first }!
        group.processes[follower]!.kill(SIGKILL)
        try group.start(follower, join: false, peers: ["m1", "m2", "m3"])
        try await eventually("\(follower) knows m4's address") {
            (try? group.clusterView(follower))?.peerAddresses["m4"] == group.peerAddress("m4")
        }
        try await eventually("\(follower) caught up") { try group.get(follower, "/v1/jobs/\(j2)?stale=true").status == 200 }

        // Removing the leader: it hands over, and the CLI follows the 307 to the new leader.
        let remove = try runCLI(["cluster", "remove", first, "--server", group.url(first)])
        #expect(remove.status == 0, "\(remove.output)")
        let second = try await group.leader(excluding: [first])
        #expect(second != first)
        try await eventually("\(first) left the configuration") { try group.clusterView(second).voters.count == 3 }
        let j3 = try group.submit("after-remove", avoiding: [first])
        for id in [j1, j2, j3] { #expect(try group.get(second, "/v1/jobs/\(id)").status == 200) }
    }

    @Test(.timeLimit(.minutes(2)))
    func changesAreRefusedCleanly() async throws {
        let group = try MasterGroup(names: ["m1", "m2", "m3"])
        defer { group.stop() }
        let leader = try await group.leader()
        let bad = try group.post(leader, "/v1/cluster/members", #"{"id":"m4","peerAddress":"nowhere"}"#)
        #expect(bad.status == 400)
        #expect(bad.error?.field == "peerAddress")
        #expect(try group.post(leader, "/v1/cluster/members", #"{"id":"m4","peerAddress":"127.0.0.1:1","x":1}"#).status == 400)
        #expect(try group.delete(leader, "/v1/cluster/members/m9").status == 404)
        let existing = try group.post(leader, "/v1/cluster/members", #"{"id":"m2","peerAddress":"127.0.0.1:1"}"#)
        #expect(existing.status == 409)

        // m4 is never started: it stays a learner, so the add answers 202 once its wait ends;
        // meanwhile, and afterwards while it is still a learner, another change is refused.
        let dead = "127.0.0.1:\(try freePort())"
        let slowAdd = Thread.detachedResult { try group.post(leader, "/v1/cluster/members", "{\"id\":\"m4\",\"peerAddress\":\"\(dead)\"}") }
        try await eventually("m4 is a learner") { try group.clusterView(leader).learners == ["m4"] }
        let concurrent = try group.post(leader, "/v1/cluster/members", #"{"id":"m5","peerAddress":"127.0.0.1:2"}"#)
        #expect(concurrent.status == 409)
        #expect(concurrent.error?.code == "conflict")
        let added = try await slowAdd.value()
        #expect(added.status == 202)
        #expect(try group.post(leader, "/v1/cluster/members", #"{"id":"m5","peerAddress":"127.0.0.1:2"}"#).status == 409)
        // Removing the stuck learner cancels the add; writes never stopped.
        #expect(try group.delete(leader, "/v1/cluster/members/m4").status == 200)
        try await eventually("m4 is gone") { try group.clusterView(leader).learners.isEmpty }
        _ = try group.submit("still-writing")
    }

    @Test(.timeLimit(.minutes(2)))
    func sigtermOfTheLeaderHandsOverWithinASecondAndLosesNoWrite() async throws {
        let group = try MasterGroup(names: ["m1", "m2", "m3"])
        defer { group.stop() }
        let leader = try await group.leader()
        let acknowledged = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let writer = Thread.detachedResult {
            var i = 0
            while !stop.load(ordering: .relaxed) && i < 2_000 {
                if let id = try? group.submit("w-\(i)", preferring: leader) { acknowledged.withLock { $0.append(id) } }
                i += 1
            }
        }
        try await eventually("some writes acknowledged") { acknowledged.withLock { $0.count } >= 20 }
        let term = try group.clusterView(leader).term
        let signalled = ContinuousClock.now
        kill(group.processes[leader]!.process.processIdentifier, SIGTERM)
        let next = try await group.leader(excluding: [leader])
        let elapsed = ContinuousClock.now - signalled
        #expect(elapsed < .seconds(1), "a new leader took \(elapsed)")
        #expect(try group.clusterView(next).term == term + 1, "one election, by the transfer target")
        try await eventually("writes continue") { acknowledged.withLock { $0.count } >= 40 }
        stop.store(true, ordering: .relaxed)
        try await writer.value()
        group.processes[leader]!.process.waitUntilExit()
        #expect(group.processes[leader]!.process.terminationStatus == 0)
        for id in acknowledged.withLock({ $0 }) {
            #expect(try group.get(next, "/v1/jobs/\(id)").status == 200, "acknowledged job \(id) lost")
        }
    }
}
