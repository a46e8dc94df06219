import Synchronization

/// Counts observations into cumulative buckets, with their sum and count.
///
/// One `Mutex` per histogram: an observation touches three fields that must agree, and the lock
/// is held only for a binary search and two additions.
public final class Histogram: Sendable {
    /// Upper bounds from 0.1 ms to 10 s, in seconds: what Fuller's request and apply latencies need.
    public static let defaultLatencyBuckets: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// The finite upper bounds, strictly increasing; the `+Inf` bucket is implicit.
    public let upperBounds: [Double]

    private struct State {
        var bucketCounts: [UInt64]  // not cumulative; the last one is +Inf
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private let state: Mutex<State>

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        state = Mutex(State(bucketCounts: [UInt64](repeating: 0, count: upperBounds.count + 1)))
    }

    /// Records `value`. A bucket counts values less than or equal to its bound.
    public func observe(_ value: Double) {
        let index = bucketIndex(value)
        state.withLock { state in
            state.bucketCounts[index] += 1
            state.sum += value
            state.count += 1
        }
    }

    /// Records a duration in seconds.
    public func observe(_ duration: Duration) { observe(duration.seconds) }

    /// Runs `body` and records how long it took.
    public func time<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        defer { observe(start.duration(to: .now)) }
        return try body()
    }

    /// A consistent copy: cumulative counts per bound (the last entry is `+Inf`), sum and count.
    public func snapshot() -> (cumulativeCounts: [UInt64], sum: Double, count: UInt64) {
        let copy = state.withLock { $0 }
        var running: UInt64 = 0
        let cumulative = copy.bucketCounts.map { running += $0; return running }
        return (cumulative, copy.sum, copy.count)
    }

    private func bucketIndex(_ value: Double) -> Int {
        var low = 0, high = upperBounds.count  // NaN lands in +Inf, as in other Prometheus clients.
        while low < high {
            let middle = (low + high) / 2
            if value <= upperBounds[middle] { high = middle } else { low = middle + 1 }
        }
        return value.isNaN ? upperBounds.count : low
    }

    /// Checks and normalises user-supplied bounds: sorted strictly increasing, no NaN, and a
    /// trailing `+Inf` dropped because it is always present.
    static func validated(_ bounds: [Double]) -> [Double] {
        var bounds = bounds
        if bounds.last == .infinity { bounds.removeLast() }
        precondition(!bounds.contains(where: \.isNaN), "histogram buckets must not be NaN")
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 },
                     "histogram buckets must be strictly increasing")
        return bounds
    }
}
