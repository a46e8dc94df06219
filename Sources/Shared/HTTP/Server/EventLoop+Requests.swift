#if canImport(Glibc)
import Glibc

/// Reading, parsing and handing requests to the handler.
extension EventLoop {
    static let continueAnswer = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    func readable(_ c: HTTPConnection) {
        guard isReading(c) else { return updateInterest(c) }
        let n = read(c.fd, readBuffer.baseAddress, readBuffer.count)
        if n > 0 {
            // The head's deadline runs from its first byte; later bytes do not move it.
            if c.phase == .idle { beginRequest(c) }
            c.parser.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
            processInput(c)
        } else if n == 0 {
            peerFinishedSending(c)
        } else if errno != EAGAIN && errno != EINTR {
            close(c)
        }
    }

    /// Whether the connection takes more requests now. Reading pauses while the pipeline or the
    /// output buffer is full, which bounds the memory one client can make the server hold.
    func isReading(_ c: HTTPConnection) -> Bool {
        !c.stopReading && !c.readClosed && c.slots.count < configuration.maxPipelinedRequests
            && c.pendingOutputBytes <= configuration.maxOutputBufferBytes
    }

    /// Turns buffered bytes into requests until the parser needs more or reading pauses.
    func processInput(_ c: HTTPConnection) {
        while isReading(c) {
            let event: HTTPParser.Event?
            do { event = try c.parser.next() } catch { return fail(c, APIError(error)) }
            guard let event else { break }
            switch event {
            case .requestHead(let head):
                c.phase = .body
                c.phaseSince = now
                c.head = head
                // Only when nothing is queued before it, so the 100 cannot overtake an answer.
                if head.expectsContinue && c.isQuiet && !c.parser.hasBufferedBytes {
                    c.out.append(contentsOf: Self.continueAnswer)
                    writeOutput(c)
                }
            case .body(let piece):
                if c.body.isEmpty { c.body = piece } else { c.body.append(contentsOf: piece) }
            case .end:
                dispatchRequest(c)
            case .responseHead:
                preconditionFailure("request parser produced a response head")
            }
        }
        if connections[c.fd] === c { updateInterest(c) }
    }

    private func dispatchRequest(_ c: HTTPConnection) {
        guard let head = c.head else { preconditionFailure("request end without a head") }
        c.head = nil
        c.phase = .idle
        c.phaseSince = now
        if c.parser.hasBufferedBytes { beginRequest(c) }
        let keepAlive = head.keepAlive && drainDeadline == nil
        if !keepAlive { c.stopReading = true }
        let sequence = c.nextSequence
        c.slots.append(.init(isHead: head.method == .HEAD, versionMinor: head.versionMinor, keepAlive: keepAlive))
        let request = HTTPRequest(method: head.method, target: head.target, versionMinor: head.versionMinor,
                                  headers: head.headers, body: c.body, remoteAddress: c.remoteAddress)
        c.body = []
        let handle = self.handle, id = c.id
        server.handler.handle(request) { response in
            handle.submit(.respond(id, sequence: sequence, response))
        }
    }

    /// A request starts arriving: its head deadline runs from now.
    func beginRequest(_ c: HTTPConnection) {
        c.phase = .head
        c.phaseSince = now
        c.requestSince = now
    }

    /// Answers `error` after the answers already owed, then closes; nothing more is read.
    func fail(_ c: HTTPConnection, _ error: APIError) {
        c.stopReading = true
        c.head = nil
        c.slots.append(.init(isHead: false, versionMinor: 1, keepAlive: false, response: error.response))
        flushSlots(c)
    }

    /// The client shut down its sending side (or closed). Requests already received are still
    /// answered; a request cut off midway gets a 400.
    private func peerFinishedSending(_ c: HTTPConnection) {
        c.readClosed = true
        do {
            try c.parser.finishInput()
        } catch {
            c.readClosed = false
            return fail(c, APIError(error))
        }
        if c.head != nil || c.parser.hasBufferedBytes {
            c.readClosed = false
            return fail(c, APIError(HTTPParseError.truncated))
        }
        if c.isQuiet { return close(c) }
        updateInterest(c)
    }

    func updateInterest(_ c: HTTPConnection) {
        var wanted: UInt32 = 0
        if isReading(c) { wanted |= Syscalls.epollIn }
        if c.hasPendingOutput { wanted |= Syscalls.epollOut }
        guard wanted != c.interest else { return }
        c.interest = wanted
        _ = Syscalls.epollControl(epfd, Syscalls.ctlMod, c.fd, events: wanted, data: UInt64(c.fd))
    }
}
#endif
