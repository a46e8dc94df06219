import Testing
@testable import Raft

@Suite struct RaftSmokeTests {
    @Test func electAndReplicate() throws {
        var c = TestCluster(size: 3)
        c.stabilize()
        c.elect(1)
        #expect(c.leaders == [1])
        try c.propose(1, "a")
        c.stabilize()
        for id in c.ids { print(c.describe(id)) }
        for id in c.ids { #expect(c.applied[id]! == ["conf", "", "a"]) }
    }
}
