#if canImport(Glibc)
/// One client connection, owned and touched only by its event loop's thread.
///
/// Life cycle (`phase` drives the timers in `EventLoop.checkTimers`):
///
///     accept ──► head ──(head parsed)──► body ──(end)──► idle ──(first byte)──► head …
///                 │ headerReadTimeout      │ too slow         │ idleTimeout
///                 ▼ from the first byte    ▼ (min rate)       ▼
///               408 + close             408 + close        close (silently)
///
/// At the connection cap a connection in `head` or `body` with no answer owed, or one `idle`,
/// may be closed to make room for a new one (`ConnectionPolicy.victim`).
///
/// Answers queue in `slots` in request order; a slot is written only when every earlier slot
/// has been, so a fast second answer waits for a slow first one.
final class HTTPConnection {
    enum Phase { case idle, head, body }

    /// A request awaiting (or holding) its response.
    struct Slot {
        var isHead: Bool
        var versionMinor: Int
        var keepAlive: Bool
        var response: HTTPResponse?
    }

    let id: ConnectionID
    let remoteAddress: String
    /// Where it is in its loop's `connectionList`.
    var listIndex = 0
    var parser: HTTPParser
    var head: HTTPParser.RequestHead?
    var body: [UInt8] = []

    var slots: [Slot] = []
    /// The sequence number of `slots[0]`.
    var firstSequence: UInt64 = 0
    var out: [UInt8] = []
    var outOffset = 0
    /// The streamed body being written; it owns the connection's output until it finishes.
    var stream: ChunkedStreamWriter?
    var streamClosesConnection = false

    var phase = Phase.head
    /// When the current phase began; for `head`, the first byte of the request (or accept).
    var phaseSince: UInt64
    /// When the request now arriving began (its first byte, or accept).
    var requestSince: UInt64
    var lastWriteProgress: UInt64
    /// The epoll interest currently registered.
    var interest: UInt32
    /// The peer shut down its sending side.
    var readClosed = false
    /// No further requests are read (after an error, a closing request, or during shutdown).
    var stopReading = false
    var closeWhenFlushed = false

    init(id: ConnectionID, remoteAddress: String, limits: HTTPParser.Limits, now: UInt64, interest: UInt32) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.parser = HTTPParser(mode: .request, limits: limits)
        self.phaseSince = now
        self.requestSince = now
        self.lastWriteProgress = now
        self.interest = interest
    }

    var fd: Int32 { id.fd }
    var hasPendingOutput: Bool { outOffset < out.count }
    var pendingOutputBytes: Int { out.count - outOffset }
    var nextSequence: UInt64 { firstSequence + UInt64(slots.count) }

    /// Nothing in flight: no answer owed, none being written.
    var isQuiet: Bool { slots.isEmpty && stream == nil && !hasPendingOutput }

    /// What `ConnectionPolicy.victim` weighs.
    var standing: ConnectionPolicy.Standing {
        guard isQuiet, !stopReading else { return .busy }
        return phase == .idle ? .idle(sinceNanos: phaseSince) : .receiving(sinceNanos: requestSince)
    }
}
#endif
