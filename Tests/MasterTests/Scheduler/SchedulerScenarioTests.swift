import Foundation
import Scheduler
import Shared
import Testing

/// Golden scheduler scenarios: `Scenarios/*.txt` hold a script (docs/scheduler.md), a `----`
/// line, and the expected transcript. `FULLER_SCHEDULER_REWRITE=1` rewrites the expected part
/// from the current behaviour; review the diff before committing it.
@Suite struct SchedulerScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scenarios")
    static let separator = "----\n"

    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

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
        let url = Self.directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let parts = text.components(separatedBy: Self.separator)
        let actual = try Self.transcript(parts[0])
        if ProcessInfo.processInfo.environment["FULLER_SCHEDULER_REWRITE"] == "1" {
            try (parts[0] + Self.separator + actual).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = parts.count > 1 ? parts[1] : ""
        #expect(actual == expected, "\(name) differs; rerun with FULLER_SCHEDULER_REWRITE=1 and review the diff")
    }

    @Test func everyConstraintFitnessAndTierHasAScenario() {
        let all = Self.files.compactMap { try? String(contentsOf: Self.directory.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n")
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
