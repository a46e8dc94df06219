/// Docker's multiplexed stream (logs and attach of a container without a TTY): frames of an
/// 8-byte header — stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, the payload length as
/// a big-endian `UInt32` — followed by the payload.
///
/// API 1.41 labels both raw (TTY) and multiplexed bodies `application/vnd.docker.raw-stream`, so
/// the reader cannot tell them apart by header: `demultiplex` accepts a body only if it is made of
/// whole, well-formed frames, and the caller takes any other body as raw text.
enum DockerLogFrames {
    static let headerBytes = 8

    /// The payloads of every frame, in order; nil when `body` is not a sequence of whole frames.
    static func demultiplex(_ body: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var offset = 0
        while offset < body.count {
            guard body.count - offset >= headerBytes, body[offset] <= 2,
                  body[offset + 1] == 0, body[offset + 2] == 0, body[offset + 3] == 0 else { return nil }
            var length = 0
            for index in offset + 4..<offset + 8 { length = length << 8 | Int(body[index]) }
            let start = offset + headerBytes
            guard body.count - start >= length else { return nil }
            out.append(contentsOf: body[start..<start + length])
            offset = start + length
        }
        return out
    }
}
