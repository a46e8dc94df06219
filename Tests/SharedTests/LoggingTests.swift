import Dispatch
import Foundation
import Testing
@testable import Shared

@Suite struct LoggingTests {
    private let time = Timestamp(rfc3339: "2026-11-25T16:30:00.123Z")!

    private func logger(_ sink: CapturingLogSink, level: LogLevel = .info) -> Logger {
        Logger(component: "master", minimumLevel: level, sink: sink, clock: .fixed(time))
    }

    @Test func writesOneJSONObjectPerLineWithFixedKeysFirst() {
        let sink = CapturingLogSink()
        logger(sink).with(["node": "m1"]).info("raft started", [
            "term": 3, "ratio": 0.5, "leader": false, "addr": "127.0.0.1:\(4701)", "msg": "shadowed",
        ])
        #expect(sink.lines == [
            #"{"ts":"2026-11-25T16:30:00.123Z","level":"info","msg":"raft started","component":"master","#
                + #""_msg":"shadowed","addr":"127.0.0.1:4701","leader":false,"node":"m1","ratio":0.5,"term":3}"#,
        ])
    }

    @Test func levelsBelowTheMinimumAreNotEvaluated() {
        let sink = CapturingLogSink()
        let log = logger(sink, level: .warn)
        var evaluated = false
        func expensive() -> String { evaluated = true; return "x" }
        log.debug(expensive())
        log.info("info", ["k": .string(expensive())])
        #expect(!evaluated && sink.lines.isEmpty)
        log.warn("careful")
        log.error("broken", ["error": .error(CocoaError(.fileNoSuchFile))])
        #expect(sink.lines.count == 2)
        #expect(LogLevel.allCases.sorted() == [.debug, .info, .warn, .error])
        #expect(LogLevel(rawValue: "warn") == .warn)
    }

    @Test(arguments: [
        "plain", "quote \" backslash \\ slash /", "newline\nreturn\rtab\t", "\u{0}\u{1}\u{8}\u{C}\u{1F}\u{7F}",
        "unicode é ß 日本 😀", "separators \u{2028}\u{2029}", "",
    ])
    func stringsRoundTripThroughAJSONParser(text: String) throws {
        let sink = CapturingLogSink()
        logger(sink).info(text, [text: .string(text)])
        let line = try #require(sink.lines.first)
        #expect(!line.contains("\n"))
        #expect(line.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0 != "\u{2028}" && $0 != "\u{2029}" })
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == text)
        #expect(object[text.isEmpty ? "" : text] as? String == text)
    }

    @Test func escapesControlCharactersCompactly() {
        var out = ""
        JSONText.appendString("a\u{1}\n\"\\\u{2028}", to: &out)
        #expect(out == #""a\u0001\n\"\\\u2028""#)
    }

    @Test(arguments: [
        (LogValue.double(.nan), #""NaN""#), (.double(.infinity), #""+Inf""#), (.double(-.infinity), #""-Inf""#),
        (.double(1e-05), "1e-05"), (.double(2), "2.0"), (.int(-7), "-7"), (.integer(UInt8(9)), "9"),
        (.seconds(.milliseconds(1500)), "1.5"), (.bool(true), "true"),
    ])
    func writesValuesAsValidJSON(value: LogValue, json: String) throws {
        var out = ""
        JSONText.appendValue(value, to: &out)
        #expect(out == json)
        _ = try JSONSerialization.jsonObject(with: Data("[\(out)]".utf8))
    }

    @Test func linesFromManyThreadsStayWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuller-log-\(UUID()).ndjson").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        try #require(fd >= 0)
        defer { unlink(path) }
        let log = Logger(component: "agent", sink: FileDescriptorLogSink(descriptor: fd))
        let padding = String(repeating: "x", count: 5000)  // longer than PIPE_BUF
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<50 { log.info("line", ["thread": .integer(thread), "i": .integer(i), "pad": "\(padding)"]) }
        }
        close(fd)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 400)
        for line in lines {
            let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["pad"] as? String == padding)
        }
    }
}
