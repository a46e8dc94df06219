/// Durations as operators write them: `250ms`, `10s`, `5m`, `1h`, combinations such as `1h30m`,
/// and fractions such as `1.5s`. A bare `0` is zero.
public enum DurationText {
    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
    ]

    /// The duration `text` denotes, or nil if it is not one.
    public static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var rest = Substring(text), total = Duration.zero
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(suffix.count)
            guard !number.isEmpty, let unit = units.first(where: { $0.suffix == suffix }) else { return nil }
            if let whole = Int64(number) {
                let (product, overflow) = whole.multipliedReportingOverflow(by: unit.milliseconds)
                guard !overflow else { return nil }
                total += .milliseconds(product)
            } else if let fraction = Double(number), fraction.isFinite, fraction * Double(unit.milliseconds) < 9e15 {
                total += .milliseconds(fraction * Double(unit.milliseconds))
            } else {
                return nil
            }
        }
        return total
    }

    /// The shortest whole-unit spelling: `1h`, `5m`, `10s`, `250ms`, `90s`; sub-millisecond parts
    /// are dropped.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        if milliseconds == 0 { return "0" }
        for unit in units.reversed() where milliseconds % unit.milliseconds == 0 {
            return "\(milliseconds / unit.milliseconds)\(unit.suffix)"
        }
        return "\(milliseconds)ms"
    }
}
