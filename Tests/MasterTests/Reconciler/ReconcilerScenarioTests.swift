import Foundation
import Testing
import TestSupport

/// Golden reconciler scenarios: `Scenarios/*.txt` hold a script, a `----` line, and the
/// expected transcript (see `ReconcilerScenarioRunner` for the commands).
/// `FULLER_RECONCILE_REWRITE=1` rewrites the expected part from the current behaviour.
@Suite struct ReconcilerScenarioTests {
    static let golden = GoldenFiles(beside: #filePath, rewriteVariable: "FULLER_RECONCILE_REWRITE")
    static var files: [String] { golden.names }

    @Test(arguments: files)
    func scenario(_ name: String) throws {
        guard let (actual, expected) = try Self.golden.check(name, { script in
            var runner = ReconcilerScenarioRunner()
            return runner.run(script)
        }) else { return }
        #expect(actual == expected, "\(Self.golden.differs(name))")
    }

    @Test func everyCaseHasAScenario() {
        #expect(Self.files.count >= 6)
    }
}
