import Testing
@testable import Model

@Suite struct JSONTests {
    @Test(arguments: [
        ("{}", JSONValue.object([])),
        ("[1, -2, 3.5, 1e3]", .array([.int(1), .int(-2), .double(3.5), .double(1000)])),
        (#"{"a":"x\ny\u00e9\ud83d\ude00"}"#, .object([("a", .string("x\ny\u{e9}😀"))])),
        ("  true ", .bool(true)),
        ("null", .null),
    ])
    func parsesValid(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "\"\\x\"", "{\"a\" 1}", "tru", "nan",
        "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\u{01}\"", "[1] x", "1e999",
    ])
    func rejectsInvalid(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func limitsDepth() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONParser.parse(ok)
    }

    @Test func writerEscapesAndRoundTrips() throws {
        let value = JSONValue.object([("k\"ey", .string("a\\b\u{01}\t\"é")), ("n", .int(-5)), ("d", .double(0.25)),
                                      ("list", .array([.bool(false), .null]))])
        var w = JSONWriter()
        w.value(value)
        #expect(try JSONParser.parse(w.bytes) == value)
        #expect(String(decoding: w.bytes, as: UTF8.self).contains(#"\u0001"#))
    }

    /// RFC 8259 §7 requires escaping only `"`, `\` and U+0000–U+001F. DEL (0x7F) and every other
    /// character are written as they are, so no string grows more than 6× its size, and text
    /// without control characters never grows at all (a 1 MiB job re-encoded to 6 MiB once).
    @Test func writerEscapesOnlyWhatJSONRequires() throws {
        let text = String(repeating: "\u{7F}", count: 1_000) + "é😀/"
        var w = JSONWriter()
        w.string(text)
        #expect(w.bytes.count == text.utf8.count + 2)
        #expect(try JSONParser.parse(w.bytes) == .string(text))
        var controls = JSONWriter()
        controls.string("\u{00}\u{1F}\n\"\\")
        #expect(String(decoding: controls.bytes, as: UTF8.self) == #""\u0000\u001f\n\"\\""#)
    }
}
