import Testing
@Test func masterPlaceholder() { #expect(Bool(true)) }
