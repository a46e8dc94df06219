/// Structured logging: one JSON object per line.
///
/// `{"ts":"2026-11-25T16:30:00.123Z","level":"info","msg":"…","component":"master",…fields}`.
/// The four fixed keys come first in that order, then the fields sorted by key, so lines diff
/// well. A field named like a fixed key is written with a leading `_` instead of clobbering it.
/// Message and fields are autoclosures: below the minimum level, nothing is built.
public struct Logger: Sendable {
    public var component: String
    public var minimumLevel: LogLevel
    /// Fields added to every line from this logger (a node id, a job id).
    public var fields: [String: LogValue]
    private let sink: any LogSink
    private let clock: WallClock

    public init(component: String, minimumLevel: LogLevel = .info,
                sink: any LogSink = FileDescriptorLogSink.standardError, clock: WallClock = .system) {
        self.component = component
        self.minimumLevel = minimumLevel
        self.fields = [:]
        self.sink = sink
        self.clock = clock
    }

    /// A copy of this logger that adds `fields` to every line.
    public func with(_ fields: [String: LogValue]) -> Logger {
        var copy = self
        copy.fields.merge(fields) { _, new in new }
        return copy
    }

    /// Whether a line at `level` would be written.
    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func debug(_ message: @autoclosure () -> String,
                      _ fields: @autoclosure () -> [String: LogValue] = [:]) {
        log(.debug, message(), fields())
    }

    public func info(_ message: @autoclosure () -> String,
                     _ fields: @autoclosure () -> [String: LogValue] = [:]) {
        log(.info, message(), fields())
    }

    public func warn(_ message: @autoclosure () -> String,
                     _ fields: @autoclosure () -> [String: LogValue] = [:]) {
        log(.warn, message(), fields())
    }

    public func error(_ message: @autoclosure () -> String,
                      _ fields: @autoclosure () -> [String: LogValue] = [:]) {
        log(.error, message(), fields())
    }

    /// Writes one line at `level` if it is enabled.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String,
                    _ fields: @autoclosure () -> [String: LogValue] = [:]) {
        guard isEnabled(level) else { return }
        let lineFields = fields()
        var merged = self.fields
        if !lineFields.isEmpty { merged.merge(lineFields) { _, new in new } }
        sink.write(Self.render(clock.now(), level, message(), component, merged))
    }

    static func render(_ time: Timestamp, _ level: LogLevel, _ message: String, _ component: String,
                       _ fields: [String: LogValue]) -> String {
        var out = "{\"ts\":\""
        out += time.rfc3339
        out += "\",\"level\":\""
        out += level.rawValue
        out += "\",\"msg\":"
        JSONText.appendString(message, to: &out)
        out += ",\"component\":"
        JSONText.appendString(component, to: &out)
        let written = fields.map { (key: reservedKeys.contains($0.key) ? "_" + $0.key : $0.key, value: $0.value) }
        for field in written.sorted(by: { $0.key < $1.key }) {
            out += ","
            JSONText.appendString(field.key, to: &out)
            out += ":"
            JSONText.appendValue(field.value, to: &out)
        }
        out += "}\n"
        return out
    }

    private static let reservedKeys: Set<String> = ["ts", "level", "msg", "component"]
}

/// The few JSON encoding rules a log line needs, without a `JSONEncoder` per line.
enum JSONText {
    /// A JSON string: quotes, backslashes and control characters escaped; U+2028 and U+2029 too,
    /// so a line is safe to embed in JavaScript. Everything else is written as UTF-8.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}", "\u{2028}", "\u{2029}": out += unicodeEscape(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// A JSON value. Non-finite doubles, which JSON cannot express, become the strings
    /// `"NaN"`, `"+Inf"` and `"-Inf"`.
    static func appendValue(_ value: LogValue, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .int(let number): out += String(number)
        case .bool(let flag): out += flag ? "true" : "false"
        case .double(let number):
            if number.isFinite {
                out += number.description
            } else {
                appendString(number.isNaN ? "NaN" : number > 0 ? "+Inf" : "-Inf", to: &out)
            }
        }
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
