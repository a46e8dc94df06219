#if canImport(Glibc)
import Dispatch
import Foundation
import Glibc
import Synchronization

/// The token file of a running process: loaded at start, loaded again on `reload()` (SIGHUP,
/// see `reloadOnHangup`). A file that fails to load on reload leaves the tokens in force as
/// they were and logs an error; at start it is fatal (the caller refuses to serve).
///
/// Nothing here ever logs a token or an `Authorization` header.
public final class Authenticator: Sendable {
    /// Why a request is refused before it reaches a route.
    public enum Failure: Error, Sendable, Equatable {
        case missing
        case malformed
        case unknown
        case expired
        /// The token is valid but its role does not open this route.
        case forbidden(Principal, Access)
    }

    public let path: String
    private let extra: TokenSet
    private let tokens: Mutex<TokenSet>
    private let clock: WallClock
    private let logger: Logger
    private let reloadsOnHangup = Mutex(false)

    /// Loads `path`; `extra` tokens (made by the process itself) are added to every load.
    public init(tokenFile path: String, extra: TokenSet = TokenSet(), clock: WallClock = .system,
                logger: Logger) throws(TokenFileError) {
        self.path = path
        self.extra = extra
        self.clock = clock
        self.logger = logger
        tokens = Mutex(try Self.load(path, extra: extra, logger: logger))
    }

    /// The roles of the tokens in force.
    public var roles: Set<TokenRole> { Set(tokens.withLock { $0.entries.map(\.principal.role) }) }

    /// Reads the file again. Returns whether the new tokens are in force.
    @discardableResult
    public func reload() -> Bool {
        do {
            let loaded = try Self.load(path, extra: extra, logger: logger)
            tokens.withLock { $0 = loaded }
            logger.info("token file reloaded", ["path": .string(path), "tokens": .int(Int64(loaded.entries.count))])
            return true
        } catch {
            logger.error("token file not reloaded; the previous tokens stay in force",
                         ["path": .string(path), "error": .string(error.description)])
            return false
        }
    }

    /// Reloads on every SIGHUP from now on (SIGHUP no longer ends the process).
    public func reloadOnHangup() {
        guard !reloadsOnHangup.withLock({ let was = $0; $0 = true; return was }) else { return }
        Hangup.onSignal { [weak self] in self?.reload() }
    }

    /// The caller behind an `Authorization` header value, if the route's `access` admits it.
    public func authorize(_ header: String?, for access: Access) -> Result<Principal?, Failure> {
        if access == .open { return .success(nil) }
        guard let header else { return .failure(.missing) }
        guard let token = Self.bearerToken(header) else { return .failure(.malformed) }
        // Hash and compare outside the lock: the set is a value, copied (not duplicated) here.
        let current = tokens.withLock { $0 }
        switch current.authenticate(token, now: clock.now()) {
        case .unknown: return .failure(.unknown)
        case .expired: return .failure(.expired)
        case .valid(let principal):
            return access.admits(principal.role) ? .success(principal) : .failure(.forbidden(principal, access))
        }
    }

    /// The caller behind an `Authorization` header value whatever its role; nil when the header
    /// carries no valid token. For handlers behind an `AuthGate` that need to know who called.
    public func principal(_ header: String?) -> Principal? {
        guard let header, let token = Self.bearerToken(header) else { return nil }
        let current = tokens.withLock { $0 }
        if case .valid(let principal) = current.authenticate(token, now: clock.now()) { return principal }
        return nil
    }

    /// The token of `Bearer TOKEN` (scheme case-insensitive), nil for anything else.
    public static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, String(parts[0]).caseInsensitiveEquals("bearer") else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func load(_ path: String, extra: TokenSet, logger: Logger) throws(TokenFileError) -> TokenSet {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TokenFileError(line: 0, "cannot read \(path): \(String(cString: strerror(errno)))") }
        guard Int(info.st_size) <= TokenSet.fileBytesMax else {
            throw TokenFileError(line: 0, "\(path) is larger than \(TokenSet.fileBytesMax) bytes")
        }
        if info.st_mode & 0o077 != 0 {
            logger.warn("the token file can be read by other users; chmod 0600 it", ["path": .string(path)])
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TokenFileError(line: 0, "cannot read \(path) as UTF-8 text")
        }
        var set: TokenSet
        do { set = try TokenSet.parse(text) } catch { throw TokenFileError(line: error.line, "\(path): \(error.description)") }
        for entry in extra.entries { try set.add(entry) }
        return set
    }
}

#endif
