import Glibc
import Synchronization

/// Faults injected into the storage layer's system calls, and a record of the calls made, for
/// tests: a full disk, an fsync error, or a crash at one exact point, under a path prefix (each
/// test's own directory, so tests running in parallel never see each other's faults).
///
/// Every `POSIXFile` call that changes the disk asks `check` first. With nothing armed that is one
/// atomic load; production never arms anything.
public enum StorageFaults {
    /// The system calls that can be failed or recorded.
    public enum Operation: String, Sendable {
        case open, write, sync, syncDirectory, truncate, rename, unlink, makeDirectory
    }

    /// What happens at a matching call.
    public enum Action: Sendable, Equatable {
        /// The call fails with this errno (e.g. `ENOSPC`, `EIO`) without touching the disk.
        case fail(errno: Int32)
        /// The process exits at once with this status, before the call: a crash at that point.
        case exit(status: Int32)
    }

    /// A fault on the `skip + 1`-th and every later call of `operation` under the prefix.
    public struct Rule: Sendable {
        public var operation: Operation
        public var action: Action
        public var skip: Int

        public init(_ operation: Operation, _ action: Action, skip: Int = 0) {
            self.operation = operation
            self.action = action
            self.skip = skip
        }
    }

    /// One call made under a watched prefix.
    public struct Call: Sendable, Equatable, CustomStringConvertible {
        public var operation: Operation
        public var path: String
        public var description: String { "\(operation.rawValue) \(path)" }
    }

    private struct Watch {
        var prefix: String
        var rules: [Rule]
        var calls: [Call] = []
    }

    private static let watchCount = Atomic<Int>(0)
    private static let watches = Mutex<[Int: Watch]>([:])
    private static let nextToken = Atomic<Int>(1)

    /// Watches every path that starts with `prefix`: its calls are recorded and `rules` applied.
    /// Returns a token for `calls(_:)` and `remove(_:)`.
    public static func watch(_ prefix: String, rules: [Rule] = []) -> Int {
        let token = nextToken.add(1, ordering: .relaxed).oldValue
        watches.withLock { $0[token] = Watch(prefix: prefix, rules: rules) }
        watchCount.add(1, ordering: .releasing)
        return token
    }

    public static func calls(_ token: Int) -> [Call] { watches.withLock { $0[token]?.calls ?? [] } }

    public static func remove(_ token: Int) {
        let removed = watches.withLock { $0.removeValue(forKey: token) != nil }
        if removed { watchCount.subtract(1, ordering: .releasing) }
    }

    /// Called by `POSIXFile` before `operation` on `path`.
    static func check(_ operation: Operation, _ path: String) throws(StorageError) {
        guard watchCount.load(ordering: .acquiring) > 0 else { return }
        let action = watches.withLock { all -> Action? in
            var action: Action?
            for token in all.keys where path.hasPrefix(all[token]!.prefix) {
                all[token]!.calls.append(Call(operation: operation, path: path))
                for i in all[token]!.rules.indices where all[token]!.rules[i].operation == operation {
                    if all[token]!.rules[i].skip > 0 { all[token]!.rules[i].skip -= 1 } else { action = all[token]!.rules[i].action }
                }
            }
            return action
        }
        switch action {
        case nil: return
        case .fail(let errno)?: throw .io("\(operation.rawValue) \(path)", errno: errno)
        case .exit(let status)?: Glibc._exit(status)
        }
    }
}
