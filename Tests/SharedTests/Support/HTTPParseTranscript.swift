// Shared by the parser tests and the parser fuzz target (which compiles this file together with
// the parser sources, hence the conditional import).
#if canImport(Shared)
import Shared
#endif

/// What a parser made of some input, rendered as text. Body pieces are merged, so two transcripts of
/// the same bytes compare equal however the bytes were split.
struct HTTPParseTranscript: Equatable, CustomStringConvertible {
    var items: [String] = []
    var pendingBody: [UInt8] = []

    var description: String { items.joined(separator: " | ") }

    /// Feeds `input` in pieces cut at `splits` (sorted offsets), draining events after each piece.
    /// With `finish`, the input is then declared finished.
    static func run(_ input: [UInt8], mode: HTTPParser.Mode, limits: HTTPParser.Limits = .init(),
                    splits: [Int] = [], finish: Bool = false, methods: [HTTPMethod] = []) -> HTTPParseTranscript {
        var parser = HTTPParser(mode: mode, limits: limits)
        for method in methods { parser.expectResponse(to: method) }
        var transcript = HTTPParseTranscript()
        var cuts = splits.filter { $0 > 0 && $0 < input.count }
        cuts.append(input.count)
        var from = 0
        for cut in cuts where cut >= from {
            parser.append(Array(input[from..<cut]))
            from = cut
            if !transcript.drain(&parser) { return transcript }
        }
        if finish {
            do { try parser.finishInput() } catch { transcript.fail(error); return transcript }
            _ = transcript.drain(&parser)
        }
        transcript.flushBody()
        return transcript
    }

    /// Returns false after an error.
    private mutating func drain(_ parser: inout HTTPParser) -> Bool {
        while true {
            let event: HTTPParser.Event?
            do { event = try parser.next() } catch { fail(error); return false }
            guard let event else { return true }
            switch event {
            case .requestHead(let h):
                flushBody()
                items.append("\(h.method) \(h.target) 1.\(h.versionMinor)\(Self.render(h.headers))")
            case .responseHead(let h):
                flushBody()
                items.append("\(h.status) \(h.reason) 1.\(h.versionMinor)\(Self.render(h.headers))")
            case .body(let bytes):
                precondition(!bytes.isEmpty, "empty body event")
                pendingBody += bytes
            case .end:
                flushBody()
                items.append("end")
            }
        }
    }

    private mutating func flushBody() {
        guard !pendingBody.isEmpty else { return }
        items.append("body(" + String(decoding: pendingBody, as: UTF8.self) + ")")
        pendingBody = []
    }

    private mutating func fail(_ error: HTTPParseError) {
        flushBody()
        switch error {
        case .malformed: items.append("malformed")
        default: items.append("\(error)")
        }
    }

    private static func render(_ headers: HTTPHeaders) -> String {
        headers.fields.isEmpty ? "" : " {" + headers.fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "}"
    }
}

extension HTTPParseTranscript {
    /// The parser fuzz invariant. Byte 0 picks the mode (bit 0), small limits (bit 1, sized by
    /// bits 2–7), expected HEAD responses (bit 7) and finished input (bit 6); byte 1 seeds the split
    /// points; the rest is the message. The parser must not trap, and the transcript must be the
    /// same whole, split at the derived points, and (for short inputs) fed byte by byte.
    /// Returns a description of the violation, or nil.
    static func checkSplitInvariance(_ data: [UInt8]) -> String? {
        guard data.count >= 2 else { return nil }
        let control = data[0]
        let input = Array(data[2...])
        let mode: HTTPParser.Mode = control & 1 == 0 ? .request : .response
        let limits = control & 2 == 0 ? HTTPParser.Limits()
            : HTTPParser.Limits(maxHeaderBytes: 64 + Int(control >> 2), maxBodyBytes: Int(control >> 2))
        let methods: [HTTPMethod] = control & 0x80 == 0 ? [] : [.HEAD, .GET]
        let finish = control & 0x40 != 0
        let whole = run(input, mode: mode, limits: limits, finish: finish, methods: methods)
        let cuts = splitPoints(count: input.count, seed: data[1])
        let split = run(input, mode: mode, limits: limits, splits: cuts, finish: finish, methods: methods)
        if whole != split { return "split at \(cuts) changed events:\n\(whole)\n\(split)" }
        if input.count <= 512 {
            let bytewise = run(input, mode: mode, limits: limits, splits: Array(0...input.count), finish: finish, methods: methods)
            if whole != bytewise { return "byte-by-byte changed events:\n\(whole)\n\(bytewise)" }
        }
        return nil
    }

    /// Deterministic cut points (splitmix64), so a failing input replays exactly.
    private static func splitPoints(count: Int, seed: UInt8) -> [Int] {
        var state = UInt64(seed) &+ 0x9E37_79B9_7F4A_7C15
        var cuts: [Int] = []
        var position = 0
        while position < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            position += 1 + Int((z ^ (z >> 31)) % 16)
            cuts.append(position)
        }
        return cuts
    }
}
