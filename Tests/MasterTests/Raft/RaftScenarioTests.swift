import Foundation
import Testing

/// Golden scenario files: `Scenarios/*.txt` hold a script, a `----` line, and the expected
/// transcript. `FULLER_RAFT_REWRITE=1` rewrites the expected part from the current behaviour.
@Suite struct RaftScenarioTests {
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
        let script = parts[0]
        var runner = ScenarioRunner()
        let actual = runner.run(script)
        if ProcessInfo.processInfo.environment["FULLER_RAFT_REWRITE"] == "1" {
            try (script + Self.separator + actual).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = parts.count > 1 ? parts[1] : ""
        #expect(actual == expected, "\(name) differs; rerun with FULLER_RAFT_REWRITE=1 and review the diff")
    }

    @Test func thereAreScenarios() {
        #expect(Self.files.count >= 5)
    }
}
