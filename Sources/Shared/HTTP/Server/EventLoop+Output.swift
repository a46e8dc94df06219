#if canImport(Glibc)
import Glibc

/// Answers: ordering, encoding, writing and streamed bodies.
extension EventLoop {
    func deliver(_ response: HTTPResponse, to id: ConnectionID, sequence: UInt64) {
        guard let c = connection(id), sequence >= c.firstSequence else { return }
        let index = Int(sequence - c.firstSequence)
        // A second answer to the same request is ignored (the handler contract says exactly once).
        guard index < c.slots.count, c.slots[index].response == nil else { return }
        c.slots[index].response = response
        if index == 0 { flushSlots(c) }
    }

    /// Encodes every answer at the front of the queue that is ready, in order, then writes.
    func flushSlots(_ c: HTTPConnection) {
        while c.stream == nil, let slot = c.slots.first, let response = slot.response {
            c.slots.removeFirst()
            c.firstSequence += 1
            let closing = !slot.keepAlive || (drainDeadline != nil && c.slots.isEmpty)
                || response.headers.keepAlive(versionMinor: 1) == false
            switch response.body {
            case .bytes(let body):
                HTTPResponseEncoder.appendHead(&c.out, response, contentLength: body.count, close: closing,
                                               versionMinor: slot.versionMinor)
                if !slot.isHead && HTTPResponseEncoder.allowsBody(response.status) { c.out.append(contentsOf: body) }
            case .stream(let source):
                startStream(c, response, source: source, slot: slot, closing: closing)
            }
            if closing {
                c.closeWhenFlushed = true
                c.stopReading = true
                c.slots.removeAll()
            }
        }
        if c.slots.isEmpty && c.phase == .idle { c.phaseSince = now }
        writeOutput(c)
        // Answers leaving the queue may unblock requests already buffered.
        if connections[c.fd] === c && isReading(c) && c.parser.hasBufferedBytes { processInput(c) }
    }

    private func startStream(_ c: HTTPConnection, _ response: HTTPResponse, source: HTTPStreamSource,
                             slot: HTTPConnection.Slot, closing: Bool) {
        // HTTP/1.0 has no chunked coding: the body then ends when the connection closes.
        let chunked = slot.versionMinor >= 1
        HTTPResponseEncoder.appendHead(&c.out, response, contentLength: nil, close: closing || !chunked,
                                       versionMinor: slot.versionMinor)
        guard !slot.isHead && HTTPResponseEncoder.allowsBody(response.status) else { return }
        let writer = ChunkedStreamWriter(handle: handle, id: c.id, chunked: chunked,
                                         limitBytes: configuration.maxOutputBufferBytes)
        c.stream = writer
        c.streamClosesConnection = closing || !chunked
        source.start(writer)
    }

    /// Moves a stream's queued chunks into the output; a finished stream releases the queue.
    func pumpStream(_ writer: ChunkedStreamWriter) {
        guard let c = connection(writer.id), c.stream === writer else { return }
        let taken = writer.take()
        if taken.cut { return close(c) }
        for chunk in taken.chunks { writer.encode(chunk, into: &c.out) }
        if taken.finished {
            if writer.chunked { c.out.append(contentsOf: ChunkedStreamWriter.lastChunk) }
            c.stream = nil
            if c.streamClosesConnection { c.closeWhenFlushed = true }
            writer.connectionClosed()
            return flushSlots(c)
        }
        writeOutput(c)
    }

    func writeOutput(_ c: HTTPConnection) {
        while c.hasPendingOutput {
            let n = c.out.withUnsafeBytes { p in
                send(c.fd, p.baseAddress! + c.outOffset, p.count - c.outOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                c.outOffset += n
                c.lastWriteProgress = now
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                return close(c)
            }
        }
        if !c.hasPendingOutput {
            // Keep the buffer for the next answer unless one huge answer inflated it.
            if c.out.capacity > 256 * 1024 { c.out = [] } else { c.out.removeAll(keepingCapacity: true) }
            c.outOffset = 0
            if c.stream == nil && c.slots.isEmpty && (c.closeWhenFlushed || c.readClosed) {
                return closeGracefully(c)
            }
        }
        c.stream?.setBacklog(c.pendingOutputBytes)
        updateInterest(c)
    }
}
#endif
