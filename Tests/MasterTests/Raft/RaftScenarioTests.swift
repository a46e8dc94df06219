import Foundation
import Testing
import TestSupport

/// Golden scenario files: `Scenarios/*.txt` hold a script, a `----` line, and the expected
/// transcript. `FULLER_RAFT_REWRITE=1` rewrites the expected part from the current behaviour.
@Suite struct RaftScenarioTests {
    static let golden = GoldenFiles(beside: #filePath, rewriteVariable: "FULLER_RAFT_REWRITE")
    static var files: [String] { golden.names }

    @Test(arguments: files)
    func scenario(_ name: String) throws {
        guard let (actual, expected) = try Self.golden.check(name, { script in
            var runner = ScenarioRunner()
            return runner.run(script)
        }) else { return }
        #expect(actual == expected, "\(Self.golden.differs(name))")
    }

    @Test func thereAreScenarios() {
        #expect(Self.files.count >= 5)
    }
}
