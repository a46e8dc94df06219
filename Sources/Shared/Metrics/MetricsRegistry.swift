import Synchronization

/// The metrics of one process, exported at `/metrics` in Prometheus text format 0.0.4.
///
/// Registering is idempotent: asking again for a name with the same type, labels (and buckets)
/// returns the existing metric, so two components may share one. The same name with a different
/// shape, or an invalid name, is a programmer error and stops the process.
///
/// Scrapes copy the list of families under the registry's lock and render outside it, so a
/// computed gauge's closure may take its own locks without ordering against the registry.
public final class MetricsRegistry: Sendable {
    /// A computed metric's rows: label values (in declared order) and the value.
    public typealias Samples = [(labelValues: [String], value: Double)]

    private enum Collector: Sendable {
        case counter(CounterFamily)
        case gauge(GaugeFamily)
        case histogram(HistogramFamily, bounds: [Double], bucketLabels: [String])
        case gaugeFunction(help: String, labelNames: [String], compute: @Sendable () -> Samples)
    }

    private let collectors = Mutex<[String: Collector]>([:])

    public init() {}

    /// A counter without labels.
    public func counter(_ name: String, help: String) -> Counter {
        counter(name, help: help, labels: []).onlyChild
    }

    /// A family of counters, one per distinct set of values for `labels`.
    public func counter(_ name: String, help: String, labels: [String]) -> CounterFamily {
        register(name, labels) {
            .counter(CounterFamily(name: name, help: help, type: .counter, labelNames: labels) { Counter() })
        } existing: {
            guard case .counter(let family) = $0, family.labelNames == labels else { return nil }
            return family
        }
    }

    /// A gauge without labels.
    public func gauge(_ name: String, help: String) -> Gauge {
        gauge(name, help: help, labels: []).onlyChild
    }

    /// A family of gauges, one per distinct set of values for `labels`.
    public func gauge(_ name: String, help: String, labels: [String]) -> GaugeFamily {
        register(name, labels) {
            .gauge(GaugeFamily(name: name, help: help, type: .gauge, labelNames: labels) { Gauge() })
        } existing: {
            guard case .gauge(let family) = $0, family.labelNames == labels else { return nil }
            return family
        }
    }

    /// A histogram without labels; `buckets` are finite upper bounds, strictly increasing.
    public func histogram(_ name: String, help: String,
                          buckets: [Double] = Histogram.defaultLatencyBuckets) -> Histogram {
        histogram(name, help: help, labels: [], buckets: buckets).onlyChild
    }

    /// A family of histograms sharing `buckets`, one per distinct set of values for `labels`.
    public func histogram(_ name: String, help: String, labels: [String],
                          buckets: [Double] = Histogram.defaultLatencyBuckets) -> HistogramFamily {
        precondition(!labels.contains("le"), "\(name): 'le' is reserved for histogram buckets")
        let bounds = Histogram.validated(buckets)
        return register(name, labels) {
            let family = HistogramFamily(name: name, help: help, type: .histogram, labelNames: labels) {
                Histogram(upperBounds: bounds)
            }
            return .histogram(family, bounds: bounds,
                              bucketLabels: bounds.map(PrometheusText.formatValue) + ["+Inf"])
        } existing: {
            guard case .histogram(let family, let existingBounds, _) = $0, family.labelNames == labels,
                  existingBounds == bounds else { return nil }
            return family
        }
    }

    /// A gauge computed at scrape time by `compute`, which returns one row per label-value set.
    /// This exports state another component already owns (jobs by state) without a second copy.
    /// `compute` runs on the scraping thread and must be quick.
    public func gaugeFunction(_ name: String, help: String, labels: [String] = [],
                              _ compute: @escaping @Sendable () -> Samples) {
        validate(name, labels)
        collectors.withLock { collectors in
            precondition(collectors[name] == nil, "metric \(name) is already registered")
            collectors[name] = .gaugeFunction(help: help, labelNames: labels, compute: compute)
        }
    }

    /// Every metric in text format 0.0.4: families sorted by name, children by label values.
    public func exposition() -> String {
        let snapshot = collectors.withLock { $0.sorted { $0.key < $1.key } }
        var out = ""
        out.reserveCapacity(snapshot.count * 256)
        for (name, collector) in snapshot {
            switch collector {
            case .counter(let family):
                Self.appendHeader(&out, name, family.help, .counter)
                for (pairs, child) in family.sortedChildren() {
                    PrometheusText.appendSample(&out, name, pairs, child.value)
                }
            case .gauge(let family):
                Self.appendHeader(&out, name, family.help, .gauge)
                for (pairs, child) in family.sortedChildren() {
                    PrometheusText.appendSample(&out, name, pairs, child.value)
                }
            case .histogram(let family, _, let bucketLabels):
                Self.appendHeader(&out, name, family.help, .histogram)
                for (pairs, child) in family.sortedChildren() {
                    Self.appendHistogram(&out, name, pairs, bucketLabels, child.snapshot())
                }
            case .gaugeFunction(let help, let labelNames, let compute):
                Self.appendHeader(&out, name, help, .gauge)
                Self.appendComputed(&out, name, labelNames, compute())
            }
        }
        return out
    }

    private func register<Family>(_ name: String, _ labels: [String], make: () -> Collector,
                                  existing: (Collector) -> Family?) -> Family {
        validate(name, labels)
        return collectors.withLock { collectors in
            if let current = collectors[name] {
                guard let family = existing(current) else {
                    preconditionFailure("metric \(name) is already registered with another type or labels")
                }
                return family
            }
            let collector = make()
            collectors[name] = collector
            return existing(collector)!
        }
    }

    private func validate(_ name: String, _ labels: [String]) {
        precondition(PrometheusText.isValidMetricName(name), "invalid metric name \"\(name)\"")
        for label in labels {
            precondition(PrometheusText.isValidLabelName(label), "\(name): invalid label name \"\(label)\"")
        }
        precondition(Set(labels).count == labels.count, "\(name): duplicate label names \(labels)")
    }

    private static func appendHeader(_ out: inout String, _ name: String, _ help: String, _ type: MetricType) {
        if !help.isEmpty { out += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n" }
        out += "# TYPE \(name) \(type.rawValue)\n"
    }

    private static func appendHistogram(
        _ out: inout String, _ name: String, _ pairs: String, _ bucketLabels: [String],
        _ snapshot: (cumulativeCounts: [UInt64], sum: Double, count: UInt64)
    ) {
        let prefix = pairs.isEmpty ? "" : pairs + ","
        for (le, count) in zip(bucketLabels, snapshot.cumulativeCounts) {
            PrometheusText.appendSample(&out, name + "_bucket", prefix + "le=\"\(le)\"", Double(count))
        }
        PrometheusText.appendSample(&out, name + "_sum", pairs, snapshot.sum)
        PrometheusText.appendSample(&out, name + "_count", pairs, Double(snapshot.count))
    }

    private static func appendComputed(_ out: inout String, _ name: String, _ labelNames: [String],
                                       _ samples: Samples) {
        for sample in samples {
            precondition(sample.labelValues.count == labelNames.count,
                         "\(name) takes \(labelNames.count) label values, got \(sample.labelValues.count)")
        }
        let sorted = samples.sorted { $0.labelValues.lexicographicallyPrecedes($1.labelValues) }
        for sample in sorted {
            PrometheusText.appendSample(&out, name, PrometheusText.labelPairs(labelNames, sample.labelValues),
                                        sample.value)
        }
    }
}
