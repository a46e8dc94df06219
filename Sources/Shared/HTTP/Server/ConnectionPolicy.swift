/// The server's two defences against clients that hold connections without finishing requests
/// (slowloris): a deadline on every request being received, and, at the connection cap, which
/// open connection makes room for a new one. Pure: times are nanoseconds on the server's clock,
/// passed in; `EventLoop` applies the answers.
enum ConnectionPolicy {
    /// Where a connection stands, as far as making room for another one goes.
    enum Standing: Equatable {
        /// A request is being answered or an answer written: never evicted.
        case busy
        /// A request is arriving (from its first byte, or from accept) and none is being answered.
        case receiving(sinceNanos: UInt64)
        /// Between requests, nothing owed either way.
        case idle(sinceNanos: UInt64)
    }

    /// The connection to close so that a new one can be served at the cap, or nil when every
    /// connection is busy (the new one then gets a 503).
    ///
    /// Why this order: a connection still sending its request head is not known as an agent's,
    /// a peer's or an attacker's until the head is complete, but an honest client sends its head
    /// in one packet (microseconds), so the one that has been receiving the longest is the one
    /// that is dripping bytes. Receiving connections go first, oldest request first; then idle
    /// keep-alive connections, longest idle first (a client reconnects transparently). A
    /// connection whose request is being answered (an agent's long-poll heartbeat, a peer's
    /// append) is never evicted. A newly accepted connection counts as receiving from accept, so
    /// it would go only after every older one. Ties (connections accepted in one batch) go to the
    /// smallest id, so the choice never depends on a dictionary's order.
    ///
    /// A connection whose standing began at `protectedFromNanos` or later (the server passes the
    /// time of its current round: the connections it has just accepted) is not weighed: its
    /// request has not been read yet, because the server reads before it accepts.
    static func victim<ID: Comparable>(among connections: some Sequence<(id: ID, standing: Standing)>,
                                       protectedFromNanos: UInt64 = .max) -> ID? {
        var best: (id: ID, rank: Int, since: UInt64)?
        for c in connections {
            let rank: Int, since: UInt64
            switch c.standing {
            case .busy: continue
            case .receiving(let s): (rank, since) = (0, s)
            case .idle(let s): (rank, since) = (1, s)
            }
            if since >= protectedFromNanos { continue }
            if let b = best, (b.rank, b.since) < (rank, since) || ((b.rank, b.since) == (rank, since) && b.id < c.id) {
                continue
            }
            best = (c.id, rank, since)
        }
        return best?.id
    }

    /// How long a request may take to arrive.
    struct ReceiveDeadlines: Equatable {
        /// From the first byte of a request (or from accept) to its complete head. Bytes arriving
        /// meanwhile do not extend it: that is what makes a client sending a byte every few
        /// seconds lose its connection.
        var headNanos: UInt64
        /// The body gets `headNanos` from the end of the head, plus one second for every this
        /// many bytes received: a body slower than this on average is cut; a large body sent
        /// at a reasonable pace is never.
        var bodyMinBytesPerSecond: Int

        /// Whether a head begun at `since` is overdue at `now`.
        func headExpired(sinceNanos since: UInt64, nowNanos now: UInt64) -> Bool {
            now > since && now - since > headNanos
        }

        /// Whether a body begun at `since`, of which `received` bytes have arrived, is overdue.
        func bodyExpired(sinceNanos since: UInt64, receivedBytes received: Int, nowNanos now: UInt64) -> Bool {
            guard now > since else { return false }
            let rate = UInt64(max(1, bodyMinBytesPerSecond))
            let (credit, overflow) = UInt64(max(0, received)).multipliedReportingOverflow(by: 1_000_000_000)
            if overflow { return false }
            let (allowed, over) = headNanos.addingReportingOverflow(credit / rate)
            return !over && now - since > allowed
        }
    }
}
