#if canImport(Glibc)
import Synchronization

/// The server's `HTTPStreamWriter`: callable from any thread, bounded, lock-protected.
///
/// Chunks wait here until the loop takes them; the loop reports how many bytes are still unsent
/// on the socket (`setBacklog`). A write that would take queued plus unsent bytes over the limit
/// cuts the stream: it returns false and the loop closes the connection, which fires `onClose`.
final class ChunkedStreamWriter: HTTPStreamWriter {
    struct State {
        var pending: [[UInt8]] = []
        var pendingBytes = 0
        var backlog = 0
        var finished = false
        var cut = false
        /// The loop has a `.stream` message for this writer it has not handled yet.
        var scheduled = false
        var closed = false
        var closeHandlers: [@Sendable () -> Void] = []
    }

    let handle: EventLoopHandle
    let id: ConnectionID
    let chunked: Bool
    let limitBytes: Int
    private let state = Mutex(State())

    static let lastChunk = Array("0\r\n\r\n".utf8)

    init(handle: EventLoopHandle, id: ConnectionID, chunked: Bool, limitBytes: Int) {
        self.handle = handle
        self.id = id
        self.chunked = chunked
        self.limitBytes = limitBytes
    }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        let (accepted, notify) = state.withLock { s -> (Bool, Bool) in
            if s.closed || s.finished || s.cut { return (false, false) }
            // An empty chunk would end a chunked body early; there is nothing to send anyway.
            if bytes.isEmpty { return (true, false) }
            if s.pendingBytes + s.backlog + bytes.count > limitBytes {
                s.cut = true
            } else {
                s.pending.append(bytes)
                s.pendingBytes += bytes.count
            }
            defer { s.scheduled = true }
            return (!s.cut, !s.scheduled)
        }
        if notify { handle.submit(.stream(self)) }
        return accepted
    }

    func finish() {
        let notify = state.withLock { s -> Bool in
            guard !s.closed && !s.finished && !s.cut else { return false }
            s.finished = true
            defer { s.scheduled = true }
            return !s.scheduled
        }
        if notify { handle.submit(.stream(self)) }
    }

    func onClose(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s -> Bool in
            if s.closed { return true }
            s.closeHandlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// Loop side: the queued chunks and whether the stream finished or was cut.
    func take() -> (chunks: [[UInt8]], finished: Bool, cut: Bool) {
        state.withLock { s in
            defer {
                s.pending = []
                s.pendingBytes = 0
                s.scheduled = false
            }
            return (s.pending, s.finished, s.cut)
        }
    }

    func setBacklog(_ bytes: Int) { state.withLock { $0.backlog = bytes } }

    /// Loop side: the connection closed or the finished stream was handed over; runs the
    /// `onClose` handlers once, outside the lock.
    func connectionClosed() {
        let handlers = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.closed else { return [] }
            s.closed = true
            defer { s.closeHandlers = [] }
            return s.closeHandlers
        }
        for handler in handlers { handler() }
    }

    func encode(_ chunk: [UInt8], into out: inout [UInt8]) {
        guard chunked else { return out.append(contentsOf: chunk) }
        HTTPResponseEncoder.appendHex(&out, chunk.count)
        out.append(contentsOf: HTTPResponseEncoder.crlf)
        out.append(contentsOf: chunk)
        out.append(contentsOf: HTTPResponseEncoder.crlf)
    }
}
#endif
