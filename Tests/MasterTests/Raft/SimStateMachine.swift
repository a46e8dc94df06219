@testable import Raft

/// The simulated application: an ordered list of client request ids, applied at most once each
/// (a retried request that lands in the log twice is skipped the second time). Volatile: a crash
/// loses it, and a restart rebuilds it from the node's snapshot and log.
struct SimStateMachine {
    private(set) var ids: [String] = []
    private(set) var seen: Set<String> = []
    private(set) var appliedIndex: UInt64 = 0
    /// FNV-1a over `ids` in order: equal hashes at equal indexes mean equal states.
    private(set) var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    init() {}

    /// Restores from snapshot data (`ids` joined by newlines).
    init(snapshot: Snapshot) {
        appliedIndex = snapshot.metadata.index
        if !snapshot.data.isEmpty {
            for id in String(decoding: snapshot.data, as: UTF8.self).split(separator: "\n") { add(String(id)) }
        }
    }

    /// Applies one committed entry; returns the request id when it took effect.
    @discardableResult
    mutating func apply(_ e: Entry) -> String? {
        precondition(e.index == appliedIndex + 1, "applied \(e.index) after \(appliedIndex)")
        appliedIndex = e.index
        guard e.kind == .normal, !e.data.isEmpty else { return nil }
        let id = String(decoding: e.data, as: UTF8.self)
        guard !seen.contains(id) else { return nil }
        add(id)
        return id
    }

    private mutating func add(_ id: String) {
        ids.append(id)
        seen.insert(id)
        for b in id.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0x0a) &* 0x100_0000_01b3
    }

    func snapshotData() -> [UInt8] { Array(ids.joined(separator: "\n").utf8) }
}
