/// The tokens a process accepts, parsed from a token file; pure (no file, no clock).
///
/// File format, one token per line: `ROLE NAME TOKEN [expires=RFC3339]`; `#` starts a comment
/// line, blank lines are skipped. Roles are `TokenRole`'s raw values. A token is 16 to 512 printable
/// ASCII characters without spaces; two lines may not share one.
///
/// Only each token's SHA-256 digest is kept. `authenticate` hashes the presented token to the
/// same fixed length and compares it with every entry in constant time, without stopping at a
/// match, so neither a token's length nor how much of it matched shows in the timing.
public struct TokenSet: Sendable {
    public struct Entry: Sendable, Equatable {
        public var principal: Principal
        public var digest: [UInt8]
        /// After this instant the token is refused as expired; nil never expires.
        public var expires: Timestamp?
    }

    /// What a presented token turned out to be.
    public enum Outcome: Sendable, Equatable {
        case valid(Principal)
        case expired(Principal)
        case unknown
    }

    public private(set) var entries: [Entry] = []

    public static let tokenBytesMin = 16
    public static let tokenBytesMax = 512
    public static let nameBytesMax = 128
    public static let entriesMax = 10_000
    /// Token files larger than this are refused (the shell checks it before reading).
    public static let fileBytesMax = 1 << 20

    public init() {}

    /// Parses a whole token file. Errors name the line, never the token.
    public static func parse(_ text: String) throws(TokenFileError) -> TokenSet {
        var set = TokenSet()
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 || fields.count == 4 else {
                throw TokenFileError(line: offset + 1, "expected ROLE NAME TOKEN [expires=RFC3339], got \(fields.count) fields")
            }
            guard let role = TokenRole(rawValue: fields[0]) else {
                let known = TokenRole.allCases.map(\.rawValue).joined(separator: ", ")
                throw TokenFileError(line: offset + 1, "unknown role \"\(fields[0].prefix(32))\"; roles: \(known)")
            }
            var expires: Timestamp?
            if fields.count == 4 {
                guard fields[3].hasPrefix("expires="), let t = Timestamp(rfc3339: String(fields[3].dropFirst(8))) else {
                    throw TokenFileError(line: offset + 1, "the fourth field must be expires=RFC3339 (e.g. expires=2027-01-01T00:00:00Z)")
                }
                expires = t
            }
            do { try set.add(Principal(role: role, name: fields[1]), token: fields[2], expires: expires) } catch {
                throw TokenFileError(line: offset + 1, error.message)
            }
        }
        return set
    }

    /// Adds one token (a file line, or a credential made at start-up such as `dev`'s agent token).
    public mutating func add(_ principal: Principal, token: String, expires: Timestamp? = nil) throws(TokenFileError) {
        guard !principal.name.isEmpty, principal.name.utf8.count <= Self.nameBytesMax,
              principal.name.utf8.allSatisfy(Self.isNameByte) else {
            throw TokenFileError(line: 0, "a name is 1 to \(Self.nameBytesMax) letters, digits, '.', '_', '-', '@' or '*'")
        }
        guard Self.isWellFormed(token) else {
            throw TokenFileError(line: 0, "a token is \(Self.tokenBytesMin) to \(Self.tokenBytesMax) printable ASCII characters without spaces")
        }
        try add(Entry(principal: principal, digest: SHA256.digest(Array(token.utf8)), expires: expires))
    }

    /// Adds an entry that is already hashed (e.g. from another set).
    public mutating func add(_ entry: Entry) throws(TokenFileError) {
        guard entries.count < Self.entriesMax else { throw TokenFileError(line: 0, "more than \(Self.entriesMax) tokens") }
        if let other = entries.first(where: { $0.digest == entry.digest }) {
            throw TokenFileError(line: 0, "this token is already listed (for \(other.principal.role.rawValue) \(other.principal.name))")
        }
        entries.append(entry)
    }

    /// Looks `token` up at `now`. Every entry is compared, match or not (see the type's note).
    public func authenticate(_ token: String, now: Timestamp) -> Outcome {
        let presented = SHA256.digest(Array(token.utf8.prefix(Self.tokenBytesMax + 1)))
        var found: Entry?
        for entry in entries where Self.constantTimeEqual(presented, entry.digest) { found = entry }
        guard let found else { return .unknown }
        if let expires = found.expires, now >= expires { return .expired(found.principal) }
        return .valid(found.principal)
    }

    /// Equal-length byte strings compared without an early exit.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    public static func isWellFormed(_ token: String) -> Bool {
        let count = token.utf8.count
        return count >= tokenBytesMin && count <= tokenBytesMax && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@"), UInt8(ascii: "*"): true
        default: false
        }
    }
}

/// A token file that cannot be used: the line (1-based; 0 when not from a file) and why.
public struct TokenFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}
