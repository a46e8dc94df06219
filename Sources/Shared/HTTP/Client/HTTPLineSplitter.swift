/// Cuts a body that arrives in arbitrary pieces into newline-delimited lines (NDJSON from Docker's
/// `/events` and Fuller's `/v1/events`). A trailing `\r` is dropped; blank lines, which streams send
/// as keep-alive pings, are skipped. At most `maxLineBytes` are held for one line.
struct HTTPLineSplitter {
    let maxLineBytes: Int
    /// The start of a line whose newline has not arrived yet.
    private var partial: [UInt8] = []

    init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    /// Emits every line completed by `bytes`. Returns false as soon as `emit` does: the caller
    /// stops reading.
    mutating func feed(_ bytes: [UInt8], emit: (ArraySlice<UInt8>) -> Bool) throws(HTTPClientError) -> Bool {
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let keepGoing: Bool
            if partial.isEmpty {
                keepGoing = try deliver(bytes[start..<newline], emit: emit)
            } else {
                partial.append(contentsOf: bytes[start..<newline])
                keepGoing = try deliver(partial[...], emit: emit)
                partial.removeAll(keepingCapacity: true)
            }
            start = newline + 1
            if !keepGoing { return false }
        }
        partial.append(contentsOf: bytes[start...])
        if partial.count > maxLineBytes { throw .lineTooLong(limitBytes: maxLineBytes) }
        return true
    }

    /// Emits the last line when the body ended without a newline.
    mutating func finish(emit: (ArraySlice<UInt8>) -> Bool) throws(HTTPClientError) -> Bool {
        defer { partial.removeAll() }
        return try deliver(partial[...], emit: emit)
    }

    private func deliver(_ line: ArraySlice<UInt8>, emit: (ArraySlice<UInt8>) -> Bool) throws(HTTPClientError) -> Bool {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if line.isEmpty { return true }
        if line.count > maxLineBytes { throw .lineTooLong(limitBytes: maxLineBytes) }
        return emit(line)
    }
}
