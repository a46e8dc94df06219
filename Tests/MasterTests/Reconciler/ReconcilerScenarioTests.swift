import Foundation
import Testing

/// Golden reconciler scenarios: `Scenarios/*.txt` hold a script, a `----` line, and the
/// expected transcript (see `ReconcilerScenarioRunner` for the commands).
/// `FULLER_RECONCILE_REWRITE=1` rewrites the expected part from the current behaviour.
@Suite struct ReconcilerScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scenarios")
    static let separator = "----\n"

    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test(arguments: files)
    func scenario(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let parts = text.components(separatedBy: Self.separator)
        var runner = ReconcilerScenarioRunner()
        let actual = runner.run(parts[0])
        if ProcessInfo.processInfo.environment["FULLER_RECONCILE_REWRITE"] == "1" {
            try (parts[0] + Self.separator + actual).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(actual == (parts.count > 1 ? parts[1] : ""), "\(name) differs; rerun with FULLER_RECONCILE_REWRITE=1 and review the diff")
    }

    @Test func everyCaseHasAScenario() {
        #expect(Self.files.count >= 6)
    }
}
