#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in wall-clock time: Unix milliseconds, UTC.
///
/// Fuller's wire format writes it as RFC 3339 with milliseconds and `Z`
/// (`2026-11-25T16:30:00.123Z`); that is also how it encodes with `Codable`. Milliseconds are enough
/// for every timestamp a user sees; durations are measured with a monotonic `Clock`, never with this.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// The current wall-clock time of this machine.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// This time moved by `duration`, truncated to whole milliseconds.
    public func advanced(by duration: Duration) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + duration.wholeMilliseconds)
    }

    /// The duration from `self` to `other` (negative when `other` is earlier).
    public func duration(to other: Timestamp) -> Duration {
        .milliseconds(other.millisecondsSinceEpoch - millisecondsSinceEpoch)
    }

    public var description: String { rfc3339 }
}

extension Duration {
    /// The duration in whole milliseconds, truncated toward zero.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds as a `Double`, the unit Prometheus and JSON consumers expect.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not an RFC 3339 timestamp")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

/// Where wall-clock time comes from: the system, or a test's fixed or manual source.
///
/// Shells take one of these instead of calling `Timestamp.now()` so that tests and simulations
/// decide what time it is.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Timestamp

    public init(_ read: @escaping @Sendable () -> Timestamp) { self.read = read }

    /// The current time according to this clock.
    public func now() -> Timestamp { read() }

    /// The machine's real-time clock.
    public static let system = WallClock { Timestamp.now() }

    /// A clock stuck at `timestamp`.
    public static func fixed(_ timestamp: Timestamp) -> WallClock { WallClock { timestamp } }

    /// Wall time that follows a `ManualClock`: `epoch` plus however far the manual clock has advanced.
    public static func following(_ clock: ManualClock, from epoch: Timestamp) -> WallClock {
        let start = clock.now
        return WallClock { epoch.advanced(by: start.duration(to: clock.now)) }
    }
}
