/// Bounded exponential backoff: `initial`, doubling, never above `max`. A value type; the caller
/// resets it after a success. No jitter: every agent retries its own masters and Docker, so there
/// is no herd to spread.
struct Backoff: Sendable {
    let initial: Duration
    let max: Duration
    private var current: Duration?

    init(initial: Duration, max: Duration) {
        precondition(initial > .zero && max >= initial)
        self.initial = initial
        self.max = max
    }

    /// The next delay to wait.
    mutating func next() -> Duration {
        let delay = current.map { Swift.min($0 * 2, max) } ?? initial
        current = delay
        return delay
    }

    mutating func reset() { current = nil }
}
