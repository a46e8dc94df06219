import Testing
@testable import Master
import Shared

@Suite struct ClusterVerbsTests {
    @Test func addPostsTheMemberAndSaysItVotes() {
        let h = CLIHarness()
        h.master.on("POST /v1/cluster/members", .json(201, #"{"id":"m4","peerAddress":"10.0.0.4:4701","role":"voter"}"#))
        #expect(h.run("cluster add m4 10.0.0.4:4701") == 0)
        #expect(h.targets == ["POST /v1/cluster/members"])
        #expect(h.master.requests[0].body == #"{"id":"m4","peerAddress":"10.0.0.4:4701"}"#)
        #expect(h.output == "added m4 (10.0.0.4:4701); it votes\n")
    }

    @Test func addReportsALearnerStillCatchingUp() {
        let h = CLIHarness()
        h.master.on("POST /v1/cluster/members", .json(202, #"{"id":"m4","peerAddress":"10.0.0.4:4701","role":"learner"}"#))
        #expect(h.run("cluster add m4 10.0.0.4:4701") == 0)
        #expect(h.output.hasPrefix("added m4 (10.0.0.4:4701) as a learner"))
    }

    @Test func removeFollowsTheLeaderThatTookOver() {
        let h = CLIHarness()
        h.master.on("DELETE /v1/cluster/members/m1",
                    .json(307, "", headers: ["Location": "http://m2:4700/v1/cluster/members/m1"]),
                    .json(200, #"{"id":"m1","role":"removed"}"#))
        #expect(h.run("cluster remove m1") == 0)
        #expect(h.connections == [CLI.defaultServer, "http://m2:4700"])
        #expect(h.output == "removed m1\n")
    }

    @Test func aRefusalShowsTheServersMessage() {
        let h = CLIHarness()
        h.master.on("DELETE /v1/cluster/members/m9",
                    .json(404, #"{"error":{"code":"not_found","message":"m9 is not a member of the group"}}"#))
        #expect(h.run("cluster remove m9") != 0)
        #expect(h.errors.contains("m9 is not a member of the group"))
    }

    @Test func clusterAloneStillShowsTheGroup() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(200, #"{"members":[],"leader":null,"term":0,"commitIndex":0,"appliedIndex":0}"#))
        #expect(h.run("cluster") == 0)
        #expect(h.run("cluster add m4") != 0)  // PEER-ADDRESS is required
    }
}
