import JobStore
import Model
import Storage
import Synchronization

/// Where the API sends writes. A command is acknowledged only after it is durable (one node) or
/// committed by a quorum (Raft, later) and then applied; the completion carries the apply result.
///
/// Ordering contract: completions run in log order, after the store reflects the command, so a
/// client that hears "created" can read its job back at once.
protocol Replicator: Sendable {
    func propose(_ command: Command, completion: @escaping @Sendable (Result<CommandResult, ProposeError>) -> Void)
}

/// Why a command was not applied. Distinct from `StoreError`, which is a deterministic refusal.
enum ProposeError: Error, Sendable {
    /// Too many commands queued; the client should retry later.
    case overloaded
    /// The log cannot write; the node is unhealthy until restarted.
    case storageFailed(String)
    /// This node is not the leader (Raft); the leader's API address if known.
    case notLeader(leaderAPI: String?)
    /// The command encodes to more than the log takes: a permanent refusal (413), never retried.
    case tooLarge(CommandTooLarge)
}

/// The store as the shell shares it: one lock around the pure state machine.
final class StoreHandle: Sendable {
    private let state: Mutex<JobStore>

    init(_ store: JobStore) { state = Mutex(store) }

    /// Runs `body` with the store locked. Keep it short: the log's writer thread waits on it.
    func read<T, E: Error>(_ body: (JobStore) throws(E) -> T) throws(E) -> T { try state.withLock { (s) throws(E) -> T in try body(s) } }

    func apply(_ command: Command, index: UInt64) -> CommandResult {
        state.withLock { $0.apply(command, index: index) }
    }

    /// Replaces the whole store (start-up recovery, before anyone reads it).
    func replace(with store: JobStore) { state.withLock { $0 = store } }

    /// A copy for snapshotting: O(1) under the lock thanks to copy-on-write.
    func copy() -> JobStore { state.withLock { $0 } }
}
