@testable import Shared

/// A strict reader for text format 0.0.4, used to check that what the registry writes parses back:
/// HELP/TYPE before samples, each family once and in name order, escapes undone, histogram buckets
/// cumulative and ending in `+Inf` equal to `_count`.
struct PrometheusChecker {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double

        static func == (a: Sample, b: Sample) -> Bool {
            a.name == b.name && a.labels == b.labels && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Failure(description: "no final newline") }
        var familyOrder: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]), rest = parts.count > 1 ? String(parts[1]) : ""
                if line.hasPrefix("# HELP ") {
                    help[name] = try Self.unescape(rest, quotes: false)
                } else {
                    guard types[name] == nil else { throw Failure(description: "second TYPE for \(name)") }
                    guard ["counter", "gauge", "histogram"].contains(rest) else { throw Failure(description: "type \(rest)") }
                    types[name] = rest
                    familyOrder.append(name)
                }
            } else {
                let sample = try Self.parseSample(Substring(line))
                guard let family = familyOrder.last, Self.belongs(sample.name, to: family, type: types[family]!)
                else { throw Failure(description: "sample \(sample.name) outside its family") }
                samples.append(sample)
            }
        }
        guard familyOrder == familyOrder.sorted() else { throw Failure(description: "families not sorted") }
        try checkHistograms()
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    private static func belongs(_ sample: String, to family: String, type: String) -> Bool {
        if type == "histogram" { return ["_bucket", "_sum", "_count"].contains { sample == family + $0 } }
        return sample == family
    }

    private static func parseSample(_ line: Substring) throws -> Sample {
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        guard PrometheusText.isValidMetricName(String(name)) else { throw Failure(description: "name in \(line)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(label.count)
                guard PrometheusText.isValidLabelName(String(label)), rest.hasPrefix("=\"") else {
                    throw Failure(description: "label in \(line)")
                }
                rest = rest.dropFirst(2)
                var raw = ""
                while let c = rest.first, c != "\"" {
                    raw.append(c); rest = rest.dropFirst()
                    if c == "\\", let next = rest.first { raw.append(next); rest = rest.dropFirst() }
                }
                guard rest.first == "\"" else { throw Failure(description: "unterminated value in \(line)") }
                rest = rest.dropFirst()
                guard labels.updateValue(try unescape(raw, quotes: true), forKey: String(label)) == nil else {
                    throw Failure(description: "duplicate label in \(line)")
                }
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " ", let value = parseValue(String(rest.dropFirst())) else {
            throw Failure(description: "value in \(line)")
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return text.contains(where: { $0.isLetter && $0 != "e" }) ? nil : Double(text)
        }
    }

    private static func unescape(_ text: String, quotes: Bool) throws -> String {
        var out = "", escaping = false
        for c in text {
            if escaping {
                switch c {
                case "\\": out.append("\\")
                case "n": out.append("\n")
                case "\"" where quotes: out.append("\"")
                default: throw Failure(description: "bad escape \\\(c)")
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                guard c != "\n", !(quotes && c == "\"") else { throw Failure(description: "unescaped \(c)") }
                out.append(c)
            }
        }
        guard !escaping else { throw Failure(description: "trailing backslash") }
        return out
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var series: [[String: String]: [(le: Double, count: Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                var key = sample.labels
                guard let le = key.removeValue(forKey: "le").flatMap(Self.parseValue) else {
                    throw Failure(description: "bucket without le")
                }
                series[key, default: []].append((le, sample.value))
            }
            for (key, buckets) in series {
                guard buckets.last?.le == .infinity,
                      zip(buckets, buckets.dropFirst()).allSatisfy({ $0.le < $1.le && $0.count <= $1.count }),
                      value(family + "_count", key) == buckets.last?.count,
                      value(family + "_sum", key) != nil
                else { throw Failure(description: "histogram \(family) \(key) is inconsistent") }
            }
        }
    }
}
