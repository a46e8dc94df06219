import Testing
@testable import Shared

/// The token file's format, expiry and the constant-time lookup (pure: no file, no clock).
@Suite struct TokenSetTests {
    static let file = """
    # operators
    admin   ops        admin-token-0123456789
    submit  ci         submit-token-0123456789   expires=2030-01-01T00:00:00Z
    read    dashboard  read-token-0123456789

    agent   a1         agent-token-0123456789
    peer    masters    peer-token-0123456789
    """

    static let now = Timestamp(rfc3339: "2029-06-01T00:00:00Z")!

    @Test func parsesRolesNamesAndExpiry() throws {
        let set = try TokenSet.parse(Self.file)
        #expect(set.entries.map(\.principal.role) == [.admin, .submit, .read, .agent, .peer])
        #expect(set.entries.map(\.principal.name) == ["ops", "ci", "dashboard", "a1", "masters"])
        #expect(set.entries[1].expires == Timestamp(rfc3339: "2030-01-01T00:00:00Z"))
        #expect(set.entries.allSatisfy { $0.digest.count == 32 }, "only digests are kept")
    }

    @Test func authenticatesKnownTokensAndRefusesOthers() throws {
        let set = try TokenSet.parse(Self.file)
        #expect(set.authenticate("admin-token-0123456789", now: Self.now) == .valid(Principal(role: .admin, name: "ops")))
        #expect(set.authenticate("read-token-0123456789", now: Self.now) == .valid(Principal(role: .read, name: "dashboard")))
        #expect(set.authenticate("admin-token-012345678", now: Self.now) == .unknown, "a prefix is not the token")
        #expect(set.authenticate("admin-token-01234567890", now: Self.now) == .unknown, "nor is an extension")
        #expect(set.authenticate("", now: Self.now) == .unknown)
        #expect(set.authenticate(String(repeating: "x", count: 100_000), now: Self.now) == .unknown)
    }

    @Test func anExpiredTokenIsRecognisedAsExpired() throws {
        let set = try TokenSet.parse(Self.file)
        let ci = Principal(role: .submit, name: "ci")
        #expect(set.authenticate("submit-token-0123456789", now: Timestamp(rfc3339: "2029-12-31T23:59:59Z")!) == .valid(ci))
        #expect(set.authenticate("submit-token-0123456789", now: Timestamp(rfc3339: "2030-01-01T00:00:00Z")!) == .expired(ci))
    }

    @Test(arguments: [
        ("admin ops", 1, "expected ROLE NAME TOKEN"),
        ("root ops admin-token-0123456789", 1, "unknown role \"root\""),
        ("# c\nadmin ops short", 2, "16 to 512 printable"),
        ("admin ops admin-token-0123456789 expires=tomorrow", 1, "expires=RFC3339"),
        ("admin ops admin-token-0123456789 later", 1, "expires=RFC3339"),
        ("admin o/ps admin-token-0123456789", 1, "a name is"),
        ("admin ops admin-token-0123456789\nread other admin-token-0123456789", 2, "already listed (for admin ops)"),
        ("admin ops admin-token-0123456789 expires=2030-01-01T00:00:00Z extra", 1, "got 5 fields"),
    ])
    func aBadLineIsNamedAndTheTokenIsNotEchoed(text: String, line: Int, message: String) {
        do {
            _ = try TokenSet.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.description.contains(message), "\(error)")
            #expect(!error.description.contains("admin-token-0123456789"), "the error echoes a token: \(error)")
        }
    }

    @Test func constantTimeEqualityComparesEveryByte() {
        #expect(TokenSet.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenSet.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenSet.constantTimeEqual([9, 2, 3], [1, 2, 3]))
        #expect(!TokenSet.constantTimeEqual([1, 2], [1, 2, 3]))
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesTheStandardVectors(message: String, hex: String) {
        let digest = SHA256.digest(Array(message.utf8))
        #expect(digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == hex)
    }

    @Test func sha256OfAMillionAs() {
        let digest = SHA256.digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"),
        ("Basic abc", nil), ("Bearer", nil), ("Bearer ", nil), ("abc", nil),
    ] as [(String, String?)])
    func bearerHeaders(header: String, token: String?) {
        #expect(Authenticator.bearerToken(header) == token)
    }
}
