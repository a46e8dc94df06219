import Dispatch
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
        /// The call waits, before touching the disk, until `release(_:)` or `remove(_:)` of its
        /// watch: a disk that stalls for as long as a test needs.
        case hold
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
        var released = false
        /// Calls waiting on `gate` (a `hold` rule).
        var held = 0
        let gate = DispatchSemaphore(value: 0)
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
        release(token)
        let removed = watches.withLock { $0.removeValue(forKey: token) != nil }
        if removed { watchCount.subtract(1, ordering: .releasing) }
    }

    /// Lets every call held by the watch's `hold` rules go on, and later ones pass.
    public static func release(_ token: Int) {
        guard let (gate, held) = watches.withLock({ all -> (DispatchSemaphore, Int)? in
            guard all[token] != nil else { return nil }
            all[token]!.released = true
            defer { all[token]!.held = 0 }
            return (all[token]!.gate, all[token]!.held)
        }) else { return }
        for _ in 0..<held { gate.signal() }
    }

    /// Called by `POSIXFile` before `operation` on `path`.
    static func check(_ operation: Operation, _ path: String) throws(StorageError) {
        guard watchCount.load(ordering: .acquiring) > 0 else { return }
        let (action, gate) = watches.withLock { all -> (Action?, DispatchSemaphore?) in
            var action: Action?
            var gate: DispatchSemaphore?
            for token in all.keys where path.hasPrefix(all[token]!.prefix) {
                all[token]!.calls.append(Call(operation: operation, path: path))
                for i in all[token]!.rules.indices where all[token]!.rules[i].operation == operation {
                    if all[token]!.rules[i].skip > 0 { all[token]!.rules[i].skip -= 1 } else { action = all[token]!.rules[i].action }
                }
                if action == .hold && gate == nil && !all[token]!.released {
                    all[token]!.held += 1
                    gate = all[token]!.gate
                }
            }
            return (action, gate)
        }
        switch action {
        case nil: return
        case .hold?: gate?.wait()
        case .fail(let errno)?: throw .io("\(operation.rawValue) \(path)", errno: errno)
        case .exit(let status)?: Glibc._exit(status)
        }
    }
}
