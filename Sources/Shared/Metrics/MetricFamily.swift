import Synchronization

/// The kind of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// All the children of one metric name, one per distinct set of label values.
///
/// `labels(...)` takes a lock and hashes the values; code on a hot path calls it once and keeps
/// the child, whose own updates are lock-free (counters, gauges) or take a short per-child lock
/// (histograms). A family without labels has exactly one child, made eagerly.
public final class MetricFamily<Child: AnyObject & Sendable>: Sendable {
    public let name: String
    public let help: String
    public let type: MetricType
    /// The label names in declaration order; label values are given, and exported, in this order.
    public let labelNames: [String]

    private struct Entry {
        let child: Child
        let pairs: String  // rendered once: label values never change for a child
    }

    private let makeChild: @Sendable () -> Child
    private let children = Mutex<[[String]: Entry]>([:])

    init(name: String, help: String, type: MetricType, labelNames: [String],
         makeChild: @escaping @Sendable () -> Child) {
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.makeChild = makeChild
        if labelNames.isEmpty { _ = labels([]) }
    }

    /// The child for these label values, in `labelNames` order, made on first use.
    public func labels(_ values: String...) -> Child { labels(values) }

    /// The child for these label values, in `labelNames` order, made on first use.
    public func labels(_ values: [String]) -> Child {
        precondition(values.count == labelNames.count,
                     "\(name) takes \(labelNames.count) label values, got \(values.count)")
        return children.withLock { children in
            if let entry = children[values] { return entry.child }
            let entry = Entry(child: makeChild(), pairs: PrometheusText.labelPairs(labelNames, values))
            children[values] = entry
            return entry.child
        }
    }

    /// Forgets the child for these label values, so a departed agent or finished job stops being
    /// exported. A caller still holding the child may keep updating it; nothing reads it.
    public func remove(_ values: String...) {
        _ = children.withLock { $0.removeValue(forKey: values) }
    }

    /// The children sorted by label values, each with its rendered label pairs.
    func sortedChildren() -> [(pairs: String, child: Child)] {
        let entries = children.withLock { Array($0) }
        return entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            .map { (pairs: $0.value.pairs, child: $0.value.child) }
    }
}

public typealias CounterFamily = MetricFamily<Counter>
public typealias GaugeFamily = MetricFamily<Gauge>
public typealias HistogramFamily = MetricFamily<Histogram>

extension MetricFamily {
    /// Convenience for the one child of a family without labels.
    var onlyChild: Child { labels([]) }
}
