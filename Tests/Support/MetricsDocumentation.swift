import Foundation

/// `docs/metrics.md` as the tests read it: each table row names a metric and its type.
public enum MetricsDocumentation {
    /// The repository's `docs/metrics.md`, found from this file's place in the tree.
    public static func text() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
    }

    /// Every `# TYPE name type` of a Prometheus exposition.
    public static func registered(in exposition: String) -> [(name: String, type: String)] {
        exposition.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, parts[0] == "#", parts[1] == "TYPE" else { return nil }
            return (String(parts[2]), String(parts[3]))
        }
    }

    /// The metrics of `exposition` that `docs/metrics.md` does not list with their type, as
    /// "name (type)"; empty when the doc is complete.
    public static func undocumented(in exposition: String) throws -> [String] {
        let doc = try text()
        return registered(in: exposition).filter { !doc.contains("| `\($0.name)` | \($0.type) |") }
            .map { "\($0.name) (\($0.type))" }
    }
}
