import Foundation

/// Golden scenario files beside a test file: `Scenarios/*.txt`, each a script, a `----` line,
/// and the transcript the script is expected to produce. Setting `rewriteVariable` to `1` in
/// the environment writes the current transcript back instead of comparing (review the diff
/// before committing it). Raft, the scheduler and the reconciler share this format.
public struct GoldenFiles: Sendable {
    public static let separator = "----\n"
    public let directory: URL
    public let rewriteVariable: String

    /// `testFile`: pass `#filePath` of the suite; its `Scenarios` folder holds the files.
    public init(beside testFile: String, rewriteVariable: String) {
        directory = URL(fileURLWithPath: testFile).deletingLastPathComponent().appendingPathComponent("Scenarios")
        self.rewriteVariable = rewriteVariable
    }

    /// The scenario files' names, sorted.
    public var names: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

    /// Every scenario's whole text, for checks that something is covered.
    public var allText: String {
        names.compactMap { try? String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
    }

    /// Runs `transcript` on the script of `name`. Returns the transcript and the expected one
    /// for the caller to compare, or nil after rewriting the file.
    public func check(_ name: String, _ transcript: (String) throws -> String) throws -> (actual: String, expected: String)? {
        let url = directory.appendingPathComponent(name)
        let parts = try String(contentsOf: url, encoding: .utf8).components(separatedBy: Self.separator)
        let actual = try transcript(parts[0])
        if ProcessInfo.processInfo.environment[rewriteVariable] == "1" {
            try (parts[0] + Self.separator + actual).write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        return (actual, parts.count > 1 ? parts[1] : "")
    }

    /// What a failed comparison says.
    public func differs(_ name: String) -> String { "\(name) differs; rerun with \(rewriteVariable)=1 and review the diff" }
}
