import Foundation
import Testing
@testable import Raft

/// Seeded whole-cluster runs. `FULLER_RAFT_SEEDS=N` runs N seeds per cluster size (default
/// 500 each for 3 and 5 nodes, and N/2 with membership changes); `FULLER_RAFT_SEED=S` with
/// `FULLER_RAFT_NODES=3|5|m` replays one and prints what it exercised. If a precondition in the
/// core stops the process, `FULLER_RAFT_TRACE_SEEDS=1` prints each seed as it starts.
@Suite struct RaftSimulationTests {
    static let chunks = 8

    static var seedsPerSize: Int {
        Int(ProcessInfo.processInfo.environment["FULLER_RAFT_SEEDS"] ?? "") ?? 500
    }

    @Test(arguments: [3, 5], 0..<chunks)
    func seeds(nodes: Int, chunk: Int) {
        let env = ProcessInfo.processInfo.environment
        if let one = env["FULLER_RAFT_SEED"].flatMap(UInt64.init) {
            guard env["FULLER_RAFT_NODES"] != "m" else { return }
            let size = env["FULLER_RAFT_NODES"].flatMap(Int.init) ?? 3
            if chunk == 0 && nodes == size { run(seed: one, nodes: nodes, verbose: true) }
            return
        }
        let perChunk = (Self.seedsPerSize + Self.chunks - 1) / Self.chunks
        let lo = chunk * perChunk
        let hi = min(Self.seedsPerSize, lo + perChunk)
        for i in lo..<max(lo, hi) {
            if !run(seed: UInt64(nodes * 1_000_000 + i), nodes: nodes) { return }
        }
    }

    /// Five servers, three voters at first, the leader adding and removing one at a time.
    @Test(arguments: 0..<chunks)
    func membershipSeeds(chunk: Int) {
        let env = ProcessInfo.processInfo.environment
        if let one = env["FULLER_RAFT_SEED"].flatMap(UInt64.init) {
            if chunk == 0 && env["FULLER_RAFT_NODES"] == "m" { run(seed: one, nodes: 5, membership: true, verbose: true) }
            return
        }
        let perChunk = (Self.seedsPerSize / 2 + Self.chunks - 1) / Self.chunks
        for i in (chunk * perChunk)..<((chunk + 1) * perChunk) {
            if !run(seed: UInt64(9_000_000 + i), nodes: 5, membership: true) { return }
        }
    }

    @discardableResult
    func run(seed: UInt64, nodes: Int, membership: Bool = false, verbose: Bool = false) -> Bool {
        var options = SimOptions()
        options.nodes = nodes
        options.membershipChanges = membership
        if ProcessInfo.processInfo.environment["FULLER_RAFT_TRACE_SEEDS"] == "1" {
            // A broken invariant inside the core stops the process before any report; this
            // line names the seed that was running.
            print("seed=\(seed) nodes=\(nodes)\(membership ? " membership" : "") starting")
        }
        var sim = Simulator(seed: seed, options: options)
        do {
            try sim.run()
            if verbose { print("seed=\(seed) nodes=\(nodes)\(membership ? " with membership changes" : "") passed: \(sim.stats)") }
            return true
        } catch {
            Issue.record(Comment(rawValue: error.description))
            return false
        }
    }
}
