/// The supervisor's actions waiting for a worker, and the workers waiting for an action. Lives
/// inside the executor's `Mutex`; continuations are returned, never resumed, under the lock.
struct ActionQueue: Sendable {
    /// A hard bound: the supervisor keeps one operation per task and per container, so more
    /// than this means its bookkeeping broke.
    static let capacity = 65_536

    private var items: [Supervisor.Action] = []
    private var head = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Supervisor.Action?, Never>)] = []
    private var lastWaiterId: UInt64 = 0

    var count: Int { items.count - head }

    /// Queues `actions`; returns the ones handed straight to waiting workers.
    mutating func push(_ actions: [Supervisor.Action]) -> [(CheckedContinuation<Supervisor.Action?, Never>, Supervisor.Action)] {
        var handoffs: [(CheckedContinuation<Supervisor.Action?, Never>, Supervisor.Action)] = []
        for action in actions {
            if !waiters.isEmpty {
                handoffs.append((waiters.removeFirst().continuation, action))
            } else {
                items.append(action)
            }
        }
        precondition(count <= Self.capacity, "action queue over its bound")
        return handoffs
    }

    mutating func pop() -> Supervisor.Action? {
        guard head < items.count else { return nil }
        let action = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return action
    }

    mutating func makeWaiterId() -> UInt64 {
        lastWaiterId += 1
        return lastWaiterId
    }

    mutating func addWaiter(_ id: UInt64, _ continuation: CheckedContinuation<Supervisor.Action?, Never>) {
        waiters.append((id, continuation))
    }

    mutating func removeWaiter(_ id: UInt64) -> CheckedContinuation<Supervisor.Action?, Never>? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).continuation
    }
}

extension Executor.State {
    /// The probe queue when `probes`, else the queue of Docker actions.
    mutating func withQueue<T>(probes: Bool, _ body: (inout ActionQueue) -> T) -> T {
        probes ? body(&self.probes) : body(&queue)
    }
}

extension Executor {
    /// The next action to perform (from the probe queue when `probes`); nil once the task is cancelled.
    func nextAction(probes: Bool = false) async -> Supervisor.Action? {
        let id = state.withLock { $0.withQueue(probes: probes) { $0.makeWaiterId() } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Supervisor.Action?, Never>) in
                let ready: Supervisor.Action?? = state.withLock { state in
                    if Task.isCancelled { return .some(nil) }
                    if let action = state.withQueue(probes: probes, { $0.pop() }) { return .some(action) }
                    state.withQueue(probes: probes) { $0.addWaiter(id, continuation) }
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.withQueue(probes: probes) { $0.removeWaiter(id) } }?.resume(returning: nil)
        }
    }
}
