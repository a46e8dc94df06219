import Synchronization

/// A monotonically increasing count, safe to increment from any thread without a lock.
///
/// Whole increments go to one atomic integer; fractional additions (seconds of CPU, bytes as a
/// `Double`) go to a second atomic holding a `Double`'s bits, so the common `increment()` stays
/// a single relaxed atomic add. The exported value is their sum.
public final class Counter: Sendable {
    private let whole = Atomic<UInt64>(0)
    private let fractionBits = Atomic<UInt64>(Double(0).bitPattern)

    init() {}

    /// Adds one.
    public func increment() { increment(by: 1) }

    /// Adds `amount`.
    public func increment(by amount: UInt64) {
        whole.wrappingAdd(amount, ordering: .relaxed)
    }

    /// Adds a non-negative, finite `amount`; a counter never goes down.
    public func add(_ amount: Double) {
        precondition(amount >= 0 && amount.isFinite, "counter increments must be finite and >= 0")
        AtomicDouble.add(amount, to: fractionBits)
    }

    /// The current total.
    public var value: Double {
        Double(whole.load(ordering: .relaxed)) + Double(bitPattern: fractionBits.load(ordering: .relaxed))
    }
}

/// Floating-point arithmetic on an `Atomic<UInt64>` holding a `Double`'s bit pattern.
enum AtomicDouble {
    static func add(_ amount: Double, to bits: borrowing Atomic<UInt64>) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = bits.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
