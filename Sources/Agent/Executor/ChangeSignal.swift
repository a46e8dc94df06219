import Synchronization

/// A version number that waiters can block on: `bump()` wakes everyone waiting for a newer one.
/// Used to tell the heartbeat loop that reports (or Docker's health) changed, so it sends them at
/// once instead of at the next long-poll answer. Many bumps while nobody waits collapse into one.
final class ChangeSignal: Sendable {
    private struct State {
        var version: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<UInt64, Never>] = [:]
    }
    private let state = Mutex(State())

    init() {}

    var version: UInt64 { state.withLock { $0.version } }

    func bump() {
        let (version, waiters) = state.withLock { state in
            state.version += 1
            defer { state.waiters = [:] }
            return (state.version, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: version) }
    }

    /// Returns the current version once it is greater than `seen`, or at once when the task is
    /// cancelled (then possibly equal to `seen`).
    func wait(beyond seen: UInt64) async -> UInt64 {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<UInt64, Never>) in
                let ready: UInt64? = state.withLock { state in
                    if state.version > seen || Task.isCancelled { return state.version }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in (state.waiters.removeValue(forKey: id), state.version) }
            waiter.0?.resume(returning: waiter.1)
        }
    }
}
