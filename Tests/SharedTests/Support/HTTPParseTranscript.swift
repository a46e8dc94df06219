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
