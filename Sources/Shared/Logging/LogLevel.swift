/// How serious a log line is. Lines below a logger's minimum level are not built at all.
public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case debug, info, warn, error

    private var rank: Int {
        switch self {
        case .debug: 0
        case .info: 1
        case .warn: 2
        case .error: 3
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// A field value in a structured log line, written as the matching JSON type.
public enum LogValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    /// Any integer, widened to `Int64`.
    public static func integer<I: BinaryInteger>(_ value: I) -> LogValue { .int(Int64(value)) }

    /// An error as its description, the form operators read.
    public static func error(_ error: any Error) -> LogValue { .string(String(describing: error)) }

    /// A duration in seconds, the unit dashboards expect.
    public static func seconds(_ duration: Duration) -> LogValue { .double(duration.seconds) }
}

extension LogValue: ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral,
                    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
