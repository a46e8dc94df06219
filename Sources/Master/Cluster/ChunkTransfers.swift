/// Large peer messages (snapshots) being received in chunks, bounded on every axis a sender
/// controls: at most one open transfer per sender (a new one from the same sender replaces it),
/// at most `bytesMax` declared by all open transfers together (memory grows only as chunks
/// arrive, never reserved up front from a header), and a transfer that has not moved for
/// `idleTimeout` is discarded when the next chunk from anyone arrives. The transport admits only
/// authenticated members, so the number of senders is bounded by the group's size too.
struct ChunkTransfers: Sendable {
    struct Limits: Sendable {
        /// Bytes all open transfers may declare together.
        var bytesMax: Int
        var idleTimeout: Duration
    }

    struct Assembly: Sendable {
        var id: UInt64
        var total: Int
        var buffer: [UInt8]
        var lastChunk: ContinuousClock.Instant
    }

    enum Outcome: Equatable {
        /// The message is whole: hand it on.
        case complete([UInt8])
        case partial
        /// Not the chunk expected next: the transfer is abandoned (the sender starts over).
        case outOfOrder
        /// Opening this transfer would take more than `bytesMax` with the others.
        case overLimit
    }

    let limits: Limits
    private(set) var open: [String: Assembly] = [:]

    init(limits: Limits) { self.limits = limits }

    /// Bytes declared by the open transfers.
    var declaredBytes: Int { open.values.reduce(0) { $0 + $1.total } }

    /// One chunk from `sender`: `body` at `offset` of transfer `id`, whose message has `total`
    /// bytes. The caller has checked that the chunk fits inside `total`.
    mutating func receive(from sender: String, id: UInt64, offset: Int, total: Int, body: [UInt8],
                          now: ContinuousClock.Instant) -> Outcome {
        open = open.filter { now - $0.value.lastChunk < limits.idleTimeout }
        if offset == 0 {
            open[sender] = nil
            guard declaredBytes + total <= limits.bytesMax else { return .overLimit }
            open[sender] = Assembly(id: id, total: total, buffer: [], lastChunk: now)
        }
        guard var current = open.removeValue(forKey: sender), current.id == id, current.total == total,
              current.buffer.count == offset else { return .outOfOrder }
        // Moved out of the dictionary while appending, so the buffer is not copied.
        current.buffer.append(contentsOf: body)
        if current.buffer.count == total { return .complete(current.buffer) }
        current.lastChunk = now
        open[sender] = current
        return .partial
    }
}
