import Synchronization

/// A value that goes up and down (queue depth, connections open), lock-free.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(Double(0).bitPattern)

    init() {}

    /// Replaces the value.
    public func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }

    /// Adds `amount` (which may be negative).
    public func increment(by amount: Double = 1) { AtomicDouble.add(amount, to: bits) }

    /// Subtracts `amount`.
    public func decrement(by amount: Double = 1) { AtomicDouble.add(-amount, to: bits) }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}
