import Foundation
import Testing
@testable import Raft

/// A measurement, not a test: how fast the pure core replicates in a 3-node cluster with no
/// I/O. Runs only with `FULLER_RAFT_BENCH=1` and asserts nothing about time.
@Suite struct RaftBenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FULLER_RAFT_BENCH"] == "1"))
    func replicationThroughput() throws {
        var c = TestCluster(size: 3)
        c.stabilize()
        c.elect(1)
        let payload = [UInt8](repeating: 7, count: 256)
        let total = 20_000
        let clock = ContinuousClock()
        let start = clock.now
        var proposed = 0
        while proposed < total {
            // Batches of 100 proposals between Ready rounds, as a busy shell would see them.
            for _ in 0..<100 where proposed < total {
                try c[1].propose(payload)
                proposed += 1
            }
            c.stabilize()
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(c[2].commitIndex == c[1].lastIndex)
        print("raft core: \(total) entries of \(payload.count) B replicated to 3 nodes in \(elapsed) (\(Int(Double(total) / seconds)) entries/s)")
    }
}
