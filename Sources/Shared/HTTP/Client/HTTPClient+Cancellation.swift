import Synchronization

extension HTTPClient {
    /// Cancels a blocking call from another thread: pass one to `send` or `stream`, then call
    /// `cancel()` anywhere. The call stops waiting at once (its socket is shut down) and throws
    /// `HTTPClientError.cancelled`. The `async` API makes one per call and cancels it when the task
    /// is cancelled. One token may be shared by several calls; cancelling is final.
    public final class Cancellation: Sendable {
        private struct State {
            var isCancelled = false
            /// What to do on cancel for the wait in progress (shut a socket, wake a pool waiter).
            var handler: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        public init() {}

        public var isCancelled: Bool { state.withLock { $0.isCancelled } }

        public func cancel() {
            let handler: (@Sendable () -> Void)? = state.withLock { state in
                guard !state.isCancelled else { return nil }
                state.isCancelled = true
                defer { state.handler = nil }
                return state.handler
            }
            handler?()  // Outside the lock: the handler takes other locks.
        }

        /// Installs `handler` for the current wait; throws if already cancelled (the handler is not
        /// run, the caller simply stops). Pair with `clearHandler()` once the wait is over.
        func setHandler(_ handler: @escaping @Sendable () -> Void) throws(HTTPClientError) {
            let cancelled = state.withLock { state in
                if !state.isCancelled { state.handler = handler }
                return state.isCancelled
            }
            if cancelled { throw .cancelled }
        }

        func clearHandler() { state.withLock { $0.handler = nil } }
    }
}
