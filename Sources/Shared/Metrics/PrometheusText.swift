/// The Prometheus text exposition format, version 0.0.4: names, escaping and number formatting.
public enum PrometheusText {
    /// The `Content-Type` of a `/metrics` response.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetterOrUnderscore(first) || first == UInt8(ascii: ":")
        else { return false }
        return name.utf8.allSatisfy { isLetterOrUnderscore($0) || isDigit($0) || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for Prometheus itself).
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetterOrUnderscore(first), !name.hasPrefix("__")
        else { return false }
        return name.utf8.allSatisfy { isLetterOrUnderscore($0) || isDigit($0) }
    }

    /// A label value between double quotes: `\`, `"` and newline are escaped.
    public static func escapeLabelValue(_ value: String) -> String {
        escape(value, quotes: true)
    }

    /// A HELP docstring: `\` and newline are escaped (quotes are not, per the format).
    public static func escapeHelp(_ help: String) -> String {
        escape(help, quotes: false)
    }

    /// A sample value: `+Inf`, `-Inf`, `NaN`, integers without a fraction, otherwise the shortest
    /// decimal that reads back as the same `Double` (which Go's `ParseFloat` accepts).
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(.towardZero), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n")
                                     || (quotes && $0 == UInt8(ascii: "\"")) })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    private static func isLetterOrUnderscore(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == UInt8(ascii: "_")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// The text between the braces of a sample line, e.g. `method="GET",status="200"`.
    static func labelPairs(_ names: [String], _ values: [String]) -> String {
        zip(names, values).map { "\($0)=\"\(escapeLabelValue($1))\"" }.joined(separator: ",")
    }

    /// Appends one sample line: `name{pairs} value`, with no braces when there are no labels.
    static func appendSample(_ out: inout String, _ name: String, _ pairs: String, _ value: Double) {
        out += name
        if !pairs.isEmpty { out += "{"; out += pairs; out += "}" }
        out += " "
        out += formatValue(value)
        out += "\n"
    }
}
