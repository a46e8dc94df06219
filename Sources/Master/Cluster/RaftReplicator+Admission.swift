import JobStore
import Raft

/// What a peer's frame must pass before the Raft loop sees it, so that nothing a peer sends is
/// persisted, or can stop this node, before it is known to be well-formed:
///
/// - it decodes (`RaftWire` checks every length and the membership it carries);
/// - it comes from the member the connection authenticated as (`from` is the sender);
/// - a snapshot decodes into a store, in full, before the core may hand it to storage (a
///   snapshot of garbage was once written to disk first and the node then refused to start).
///
/// The core checks the rest (`InvalidMessage`). Every drop is counted by reason.
extension RaftReplicator {
    func admit(_ frame: [UInt8], from sender: NodeID) -> Message? {
        guard let m = RaftWire.decode(frame) else {
            onDropped("undecodable")
            return nil
        }
        guard m.from == sender else {
            onDropped("wrongSender")
            return nil
        }
        if let snapshot = m.snapshot {
            let limits = store.read { $0.limits }
            do { _ = try JobStore.restore(snapshot.data, limits: limits) } catch {
                logger.warn("dropped a snapshot that does not decode", ["from": .int(Int64(bitPattern: sender)), "error": .string("\(error)")])
                onDropped("badSnapshot")
                return nil
            }
        }
        return m
    }

    /// Reports what the core dropped since the last call.
    func reportInvalid(_ l: inout LoopState) {
        for (reason, count) in l.node.invalidMessageCounts {
            let new = count - l.invalidReported[reason, default: 0]
            for _ in 0..<max(0, new) { onDropped(reason.rawValue) }
        }
        l.invalidReported = l.node.invalidMessageCounts
    }
}
