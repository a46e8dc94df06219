import Foundation
import Testing

/// After random faults (agents crashing, cut off, returning; heartbeats and answers lost), once
/// the faults stop the world converges: every service has `desired` tasks running, each in
/// one container, and no stale container runs anywhere. `FULLER_RECONCILE_SEEDS=N` runs N seeds.
@Suite struct ReconcilerSimulationTests {
    static var seeds: [UInt64] {
        let count = ProcessInfo.processInfo.environment["FULLER_RECONCILE_SEEDS"].flatMap { Int($0) } ?? 40
        return (1...UInt64(max(count, 1))).map { $0 }
    }

    @Test func convergesAfterRandomFaults() {
        var slowest = (partial: 0, full: 0)
        defer { print("reconciler simulation: \(Self.seeds.count) seeds, slowest convergence \(slowest.partial) s with agents still down, \(slowest.full) s after they returned") }
        for seed in Self.seeds {
            var world = ReconcilerSimulation(seed: seed)
            for _ in 0..<300 {
                world.step(faults: true)
                let violations = world.safetyViolations()
                guard violations.isEmpty else {
                    Issue.record("seed=\(seed) t=\(world.now): \(violations)")
                    return
                }
            }
            // Some agents stay away (their tasks must be lost and replaced elsewhere), then all return
            // (their stale containers must go). Bound for each: lost timeout (30 s) + missing grace
            // (5 s) + a few steps to place and start.
            for i in world.agents.indices where i < 2 || Int.random(in: 0..<2, using: &world.random) == 0 { world.bringBack(i) }
            guard let partial = converge(&world, seed: seed, "with some agents down") else { return }
            for i in world.agents.indices { world.bringBack(i) }
            guard let full = converge(&world, seed: seed, "after every agent returned") else { return }
            slowest = (max(slowest.partial, partial), max(slowest.full, full))
        }
    }

    /// Steps without faults until converged; the seconds it took, or nil (recorded) past 60 s.
    private func converge(_ world: inout ReconcilerSimulation, seed: UInt64, _ phase: String) -> Int? {
        var steps = 0
        while !world.convergenceProblems().isEmpty && steps < 60 {
            world.step(faults: false)
            steps += 1
            let violations = world.safetyViolations()
            if !violations.isEmpty { Issue.record("seed=\(seed) \(phase): \(violations)"); return nil }
        }
        let problems = world.convergenceProblems()
        guard problems.isEmpty else {
            Issue.record("seed=\(seed): not converged \(phase) after \(steps) s: \(problems)")
            return nil
        }
        return steps
    }
}
