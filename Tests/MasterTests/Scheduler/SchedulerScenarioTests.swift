import Foundation
import Scheduler
import Shared
import Testing
import TestSupport

/// Golden scheduler scenarios: `Scenarios/*.txt` hold a script (docs/scheduler.md), a `----`
/// line, and the expected transcript. `FULLER_SCHEDULER_REWRITE=1` rewrites the expected part
/// from the current behaviour; review the diff before committing it.
@Suite struct SchedulerScenarioTests {
    static let golden = GoldenFiles(beside: #filePath, rewriteVariable: "FULLER_SCHEDULER_REWRITE")
    static var files: [String] { golden.names }

    /// Runs a script line by line: each command echoed as `> line`, then what it printed.
    static func transcript(_ script: String, seed: UInt64 = 1) throws -> String {
        var world = ScenarioWorld(random: SeededRandom(seed: seed))
        var out = ""
        for raw in script.split(separator: "\n") {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map {
                $0.trimmingCharacters(in: .whitespaces)
            } ?? ""
            guard !line.isEmpty else { continue }
            out += "> \(line)\n"
            for (_, command) in try ScenarioCommand.parse(line) {
                for printed in world.run(command) { out += printed + "\n" }
            }
        }
        return out
    }

    @Test(arguments: files)
    func scenario(_ name: String) throws {
        guard let (actual, expected) = try Self.golden.check(name, { try Self.transcript($0) }) else { return }
        #expect(actual == expected, "\(Self.golden.differs(name))")
    }

    @Test func everyConstraintFitnessAndTierHasAScenario() {
        let all = Self.golden.allText
        for word in ["uniqueHost", "exclusiveHost", "zoneBalance", "availabilityZone", "machineGroup", "machineType",
                     "hostAttribute:", "soft=", "fitness=spread", "fitness=binpack:memory", "goodEnough=", "tier=critical",
                     "reserve=", "flexMayUseReserved=true", "drain"] {
            #expect(all.contains(word), "no scenario uses \(word)")
        }
    }

    @Test func badLinesNameTheLineAndTheProblem() {
        #expect(throws: ScenarioError(line: 2, message: "unknown constraint \"rackAware\"")) {
            try ScenarioCommand.parse("add-host h1 cpu=1 mem=1\nsubmit j hard=rackAware=true")
        }
        #expect(throws: ScenarioError(line: 1, message: "host h1 needs cpu= and mem=")) { try ScenarioCommand.parse("add-host h1") }
        #expect(throws: ScenarioError(line: 1, message: "unknown command \"frobnicate\"")) { try ScenarioCommand.parse("frobnicate") }
    }
}
