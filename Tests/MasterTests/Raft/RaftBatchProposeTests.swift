import Testing
@testable import Raft

@Suite struct RaftBatchProposeTests {
    @Test func aBatchIsOneAppendPerFollowerAndCommitsInOrder() throws {
        var c = TestCluster(size: 3)
        c.elect(1)
        let before = c.network.count
        let placed = try c.nodes[1]!.propose(batch: ["a", "b", "c"].map { Array($0.utf8) })
        c.processReady(1)
        let appends = c.network[before...].filter { $0.kind == .append }
        #expect(appends.count == 2, "one append per follower, not one per entry")
        #expect(appends.allSatisfy { $0.entries.map { String(decoding: $0.data, as: UTF8.self) } == ["a", "b", "c"] })
        #expect(placed.map { $0?.index } == appends[0].entries.map(\.index))
        c.stabilize()
        for id in c.ids { #expect(Array(c.applied[id]!.suffix(3)) == ["a", "b", "c"]) }
    }

    @Test func entriesPastTheLimitAreRefusedIndividually() throws {
        var c = TestCluster(size: 3) { $0.uncommittedBytesMax = 10 }
        c.elect(1)
        let placed = try c.nodes[1]!.propose(batch: [Array(repeating: 1, count: 8), Array(repeating: 2, count: 8)])
        #expect(placed[0] != nil && placed[1] == nil)
        #expect(throws: RaftError.self) { _ = try c.nodes[2]!.propose(batch: [[1]]) }
    }
}
