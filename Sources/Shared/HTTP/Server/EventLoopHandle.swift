#if canImport(Glibc)
import Glibc
import Synchronization

/// Identifies a connection across threads: the fd plus a serial, so a late answer for a closed
/// connection is never delivered to a new connection that reused the fd number.
struct ConnectionID: Hashable, Sendable, Comparable {
    let fd: Int32
    let serial: UInt64

    /// Accept order: serials only grow on a loop.
    static func < (a: ConnectionID, b: ConnectionID) -> Bool { a.serial < b.serial }
}

/// Work handed to a loop from any thread.
enum LoopMessage: Sendable {
    case respond(ConnectionID, sequence: UInt64, HTTPResponse)
    /// A stream writer has chunks, a finish, or a cut to deliver.
    case stream(ChunkedStreamWriter)
    case shutdown(deadlineNanos: UInt64)
}

/// The thread-safe face of an event loop: an inbox and the eventfd that wakes the loop.
///
/// No lost wake-ups: a sender appends under the lock and, if no wake-up is pending yet, writes the
/// eventfd (still under the lock, so the loop cannot close it in between); the loop clears the
/// pending flag under the same lock when it takes the messages, and drains the inbox before every
/// `epoll_wait`. Messages sent from the loop thread itself need no wake-up at all.
final class EventLoopHandle: Sendable {
    struct Inbox {
        var messages: [LoopMessage] = []
        var wakePending = false
        var closed = false
    }

    let listener: Int32
    let wakeFD: Int32
    private let inbox = Mutex(Inbox())
    private let loopThread = Atomic<UInt>(0)

    init(listener: Int32) throws(HTTPServerError) {
        self.listener = listener
        wakeFD = Syscalls.eventfd(0, O_NONBLOCK | O_CLOEXEC)
        guard wakeFD >= 0 else { throw .system(call: "eventfd", errno: errno) }
    }

    func bindToCurrentThread() { loopThread.store(UInt(pthread_self()), ordering: .releasing) }

    var isOnLoopThread: Bool { UInt(pthread_self()) == loopThread.load(ordering: .acquiring) }

    func submit(_ message: LoopMessage) {
        let onLoop = isOnLoopThread
        inbox.withLock { box in
            guard !box.closed else { return }
            box.messages.append(message)
            guard !onLoop && !box.wakePending else { return }
            box.wakePending = true
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Swaps the pending messages into `into` (which must be empty), keeping both capacities.
    func take(into: inout [LoopMessage]) {
        inbox.withLock { box in
            swap(&box.messages, &into)
            box.wakePending = false
        }
    }

    /// Called by the loop as it exits: later messages are dropped and the eventfd is closed.
    func close() {
        inbox.withLock { box in
            box.closed = true
            box.messages = []
            _ = Glibc.close(wakeFD)
        }
    }
}
#endif
