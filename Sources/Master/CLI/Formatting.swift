import Model
import Shared

/// Plain-text tables: one header row, columns padded to their widest cell, no trailing spaces.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) { self.headers = headers }

    mutating func add(_ row: [String]) {
        precondition(row.count == headers.count, "a row has \(row.count) cells for \(headers.count) columns")
        rows.append(row)
    }

    /// The table as lines, each ending in a newline.
    var text: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in all {
            var line = ""
            for (column, cell) in row.enumerated() {
                if column == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[column] - cell.count + 3)
                }
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}

/// How the tables spell things.
enum TableText {
    /// `45s`, `12m`, `5h`, `3d`: the largest unit that keeps the number under its next unit
    /// (hours until two days). A time in the future (clock skew) shows as `0s`.
    static func age(from created: String?, now: Timestamp) -> String {
        guard let created, let then = Timestamp(rfc3339: created) else { return "-" }
        let seconds = max(0, (now.millisecondsSinceEpoch - then.millisecondsSinceEpoch) / 1000)
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3_600: return "\(seconds / 60)m"
        case ..<172_800: return "\(seconds / 3_600)h"
        default: return "\(seconds / 86_400)d"
        }
    }

    /// `2 Started, 1 Accepted`: the job's `taskCounts`, largest count first, ties in the order the
    /// server lists states (its lifecycle order). `-` when the job has no tasks.
    static func taskSummary(_ counts: JSONValue?) -> String {
        guard case .object(let members)? = counts else { return "-" }
        let parts = members.enumerated().compactMap { (offset, member) -> (Int64, Int, String)? in
            guard case .int(let n) = member.1, n > 0 else { return nil }
            return (n, offset, member.0)
        }
        guard !parts.isEmpty else { return "-" }
        return parts.sorted { ($0.0, -$0.1) > ($1.0, -$1.1) }.map { "\($0.0) \($0.2)" }.joined(separator: ", ")
    }

    /// `k=v, k2=v2` with keys in the server's (sorted) order; `-` when empty.
    static func pairs(_ value: JSONValue?) -> String {
        guard case .object(let members)? = value, !members.isEmpty else { return "-" }
        return members.map { "\($0.0)=\(text($0.1))" }.joined(separator: ", ")
    }

    /// A scalar as the user would type it; `-` for null or absent.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: "-"
        case .string(let s)?: s.isEmpty ? "-" : s
        case .int(let n)?: String(n)
        case .double(let d)?: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b)?: String(b)
        case .array(let items)?: items.map { text($0) }.joined(separator: " ")
        case .object?: "{…}"
        }
    }
}

extension JSONValue {
    /// The value at a dotted path of object keys, e.g. `spec.container.image`.
    func at(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    /// The string at `path`, or nil.
    func string(at path: String) -> String? {
        guard case .string(let text)? = at(path) else { return nil }
        return text
    }
}
