import Dispatch
import Synchronization

/// One open connection and what the pool knows about it.
struct PooledConnection: Sendable {
    let socket: ClientSocket
    /// When it was last returned to the pool; idle connections older than the idle timeout close.
    var idleSince: ContinuousClock.Instant
}

/// The connections of one `HTTPClient` (one endpoint): at most `maxConnections` open, at most
/// `maxIdleConnections` of them idle, each idle for at most `idleTimeout`.
///
/// A caller `acquire`s a lease: an idle connection (most recently used first, so the rest age out)
/// or a slot to open a new one. When every slot is taken it waits, first come first served, up to
/// `waitTimeout`; `release` hands a freed connection or slot straight to the oldest waiter.
///
/// Ordering contract: every `acquire` that returns is matched by exactly one `release` or
/// `releaseSlot` (a slot whose connect failed), or the count of open connections leaks.
final class HTTPConnectionPool: Sendable {
    struct Limits: Sendable {
        var maxConnections: Int
        var maxIdleConnections: Int
        var idleTimeout: Duration
        var waitTimeout: Duration
        var maxWaiters: Int
    }

    enum Lease: Sendable {
        case idle(PooledConnection)
        /// Permission to open one connection, counted as open already.
        case slot
    }

    private struct Waiter {
        let id: Int
        let semaphore: DispatchSemaphore
    }

    private struct State {
        var idle: [PooledConnection] = []
        /// Idle plus leased connections plus slots handed out.
        var open = 0
        var waiters: [Waiter] = []
        /// Leases handed to waiters that have not picked them up yet.
        var grants: [Int: Lease] = [:]
        var nextWaiterID = 0
        var isShutDown = false

        /// Removes idle connections past `timeout`; the caller closes them outside the lock.
        mutating func pruneIdle(olderThan timeout: Duration) -> [PooledConnection] {
            let cutoff = ContinuousClock.now - timeout
            guard idle.contains(where: { $0.idleSince < cutoff }) else { return [] }
            let expired = idle.filter { $0.idleSince < cutoff }
            idle.removeAll { $0.idleSince < cutoff }
            open -= expired.count
            return expired
        }
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        precondition(limits.maxConnections > 0 && limits.maxIdleConnections >= 0 && limits.maxWaiters >= 0)
        self.limits = limits
    }

    /// A lease, or `tooManyConnections` once `waitTimeout` (or `deadline`, if sooner) has passed.
    func acquire(deadline: ContinuousClock.Instant?, cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> Lease {
        let semaphore = DispatchSemaphore(value: 0)
        let (step, expired) = state.withLock { state -> (AcquireStep, [PooledConnection]) in
            let expired = state.pruneIdle(olderThan: limits.idleTimeout)
            if state.isShutDown { return (.fail(.shutDown), expired) }
            if let connection = state.idle.popLast() { return (.lease(.idle(connection)), expired) }
            if state.open < limits.maxConnections {
                state.open += 1
                return (.lease(.slot), expired)
            }
            guard state.waiters.count < limits.maxWaiters else {
                return (.fail(.tooManyConnections(limit: limits.maxConnections)), expired)
            }
            state.nextWaiterID += 1
            state.waiters.append(Waiter(id: state.nextWaiterID, semaphore: semaphore))
            return (.wait(id: state.nextWaiterID), expired)
        }
        for connection in expired { connection.socket.close() }
        switch step {
        case .lease(let lease): return lease
        case .fail(let error): throw error
        case .wait(let id): return try wait(id: id, on: semaphore, deadline: deadline, cancellation: cancellation)
        }
    }

    private enum AcquireStep {
        case lease(Lease)
        case fail(HTTPClientError)
        case wait(id: Int)
    }

    private func wait(id: Int, on semaphore: DispatchSemaphore, deadline: ContinuousClock.Instant?,
                      cancellation: HTTPClient.Cancellation?) throws(HTTPClientError) -> Lease {
        var limit = ContinuousClock.now + limits.waitTimeout
        if let deadline, deadline < limit { limit = deadline }
        do throws(HTTPClientError) {
            try cancellation?.setHandler { semaphore.signal() }
        } catch {
            _ = withdraw(id)
            throw error
        }
        let milliseconds = Int(ClientSocket.milliseconds(until: limit))
        _ = semaphore.wait(timeout: .now() + .milliseconds(milliseconds))
        cancellation?.clearHandler()
        // A grant may have raced the timeout or the cancel: if it arrived, it is ours to use (or to
        // give back), because the releaser already counted it as handed over.
        if let lease = withdraw(id) {
            if cancellation?.isCancelled == true {
                give(lease)
                throw .cancelled
            }
            return lease
        }
        if cancellation?.isCancelled == true { throw .cancelled }
        if state.withLock({ $0.isShutDown }) { throw .shutDown }
        throw .tooManyConnections(limit: limits.maxConnections)
    }

    /// Removes waiter `id`, returning the lease granted to it, if any.
    private func withdraw(_ id: Int) -> Lease? {
        state.withLock { state in
            state.waiters.removeAll { $0.id == id }
            return state.grants.removeValue(forKey: id)
        }
    }

    /// Returns a connection after an exchange. `reusable` is false when the response said
    /// `Connection: close`, ended at EOF, or was abandoned part-way; such a connection is closed.
    func release(_ connection: PooledConnection, reusable: Bool) {
        var connection = connection
        connection.idleSince = .now
        give(reusable ? .idle(connection) : .slot)
        if !reusable { connection.socket.close() }
    }

    /// Gives up a slot whose connect failed, or whose connection was closed.
    func releaseSlot() { give(.slot) }

    private func give(_ lease: Lease) {
        let (wake, toClose) = state.withLock { state -> (DispatchSemaphore?, [PooledConnection]) in
            var toClose = state.pruneIdle(olderThan: limits.idleTimeout)
            if !state.waiters.isEmpty && !state.isShutDown {
                let waiter = state.waiters.removeFirst()
                state.grants[waiter.id] = lease
                return (waiter.semaphore, toClose)
            }
            if case .idle(let connection) = lease {
                if state.idle.count < limits.maxIdleConnections && !state.isShutDown {
                    state.idle.append(connection)
                    return (nil, toClose)
                }
                toClose.append(connection)
            }
            state.open -= 1
            return (nil, toClose)
        }
        for connection in toClose { connection.socket.close() }
        wake?.signal()
    }

    /// Closes idle connections and fails later `acquire`s; leased connections close on release.
    func shutdown() {
        let (idle, waiters) = state.withLock { state in
            state.isShutDown = true
            defer { state.open -= state.idle.count; state.idle.removeAll(); state.waiters.removeAll() }
            return (state.idle, state.waiters)
        }
        for connection in idle { connection.socket.close() }
        for waiter in waiters { waiter.semaphore.signal() }
    }

    /// Counts for tests and metrics.
    var counts: (open: Int, idle: Int) { state.withLock { ($0.open, $0.idle.count) } }
}
