@testable import Raft

/// A small, fully deterministic cluster for rule tests and scenario files: messages wait in one
/// queue until delivered, each node's storage plays its disk, and `stabilize()` runs the
/// ready/persist/send/apply loop until nothing moves.
struct TestCluster {
    var nodes: [NodeID: RaftNode] = [:]
    var storages: [NodeID: MemoryRaftStorage] = [:]
    /// Messages sent and not yet delivered, in send order.
    var network: [Message] = []
    /// Applied entry data per node (no-ops and configuration entries included as "" and "conf").
    var applied: [NodeID: [String]] = [:]
    var readStates: [NodeID: [ReadState]] = [:]
    /// Pairs (from, to) whose messages are dropped.
    var cut: Set<[NodeID]> = []

    init(size: Int, configure: (inout RaftConfig) -> Void = { _ in }) {
        let ids = (1...NodeID(size)).map { $0 }
        for id in ids { add(id, voters: ids, configure: configure) }
    }

    /// Adds a node; `voters` empty means it joins an existing group.
    mutating func add(_ id: NodeID, voters: [NodeID], configure: (inout RaftConfig) -> Void = { _ in }) {
        var config = RaftConfig(id: id, initialVoters: voters, seed: id &* 7919)
        // Deterministic anyway (seeded); a wide range keeps split votes rare.
        config.electionTicksMin = 10
        config.electionTicksMax = 20
        configure(&config)
        let storage = MemoryRaftStorage()
        storages[id] = storage
        nodes[id] = RaftNode(config: config, storage: storage)
        applied[id] = []
    }

    var ids: [NodeID] { nodes.keys.sorted() }

    subscript(_ id: NodeID) -> RaftNode {
        get { nodes[id]! }
        set { nodes[id] = newValue }
    }

    /// Runs one node's Ready through the contract: persist, send, apply, advance.
    mutating func processReady(_ id: NodeID) {
        guard nodes[id]!.hasReady else { return }
        let rd = nodes[id]!.ready()
        let storage = storages[id]!
        if let snap = rd.snapshot { storage.installSnapshot(snap) }
        storage.append(rd.entries)
        if let hard = rd.hardState { storage.setHardState(hard) }
        for m in rd.messages where !cut.contains([m.from, m.to]) { network.append(m) }
        if let snap = rd.snapshot { applied[id] = snapshotContents(snap) }
        for e in rd.committedEntries { applied[id]!.append(describe(e)) }
        readStates[id, default: []].append(contentsOf: rd.readStates)
        nodes[id]!.advance(rd)
    }

    func describe(_ e: Entry) -> String {
        e.kind == .configuration ? "conf" : String(decoding: e.data, as: UTF8.self)
    }

    func snapshotContents(_ snap: Snapshot) -> [String] {
        String(decoding: snap.data, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    /// Delivers every queued message (and only those), in order. Returns how many.
    @discardableResult
    mutating func deliver(to target: NodeID? = nil) -> Int {
        let batch = network.filter { target == nil || $0.to == target }
        network.removeAll { target == nil || $0.to == target }
        for m in batch where nodes[m.to] != nil && !cut.contains([m.from, m.to]) {
            nodes[m.to]!.step(m)
        }
        return batch.count
    }

    /// Processes readies and delivers messages until nothing is left to do.
    mutating func stabilize(limit: Int = 1_000) {
        for _ in 0..<limit {
            for id in ids { processReady(id) }
            if network.isEmpty && !ids.contains(where: { nodes[$0]!.hasReady }) { return }
            deliver()
        }
        preconditionFailure("cluster did not stabilize")
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { nodes[id]!.tick() }
    }

    mutating func tickAll(times: Int = 1) {
        for _ in 0..<times { for id in ids { nodes[id]!.tick() } }
    }

    /// Makes `id` campaign and runs the cluster until the election settles.
    mutating func elect(_ id: NodeID) {
        nodes[id]!.campaignNow()
        stabilize()
    }

    mutating func propose(_ id: NodeID, _ text: String) throws(RaftError) {
        try nodes[id]!.propose(Array(text.utf8))
    }

    /// Cuts both directions between the two groups.
    mutating func partition(_ a: [NodeID], _ b: [NodeID]) {
        for x in a { for y in b { cut.insert([x, y]); cut.insert([y, x]) } }
    }

    mutating func heal() { cut = [] }

    var leaders: [NodeID] { ids.filter { nodes[$0]!.role == .leader } }

    /// Takes a snapshot of `id`'s applied state and compacts its log through the applied index.
    mutating func compact(_ id: NodeID) {
        let index = nodes[id]!.appliedIndex
        let meta = nodes[id]!.snapshotTaken(at: index)!
        let data = Array(applied[id]!.joined(separator: ",").utf8)
        storages[id]!.saveSnapshotAndCompact(Snapshot(metadata: meta, data: data))
    }

    /// A log line per node: "id role term=T commit=C log=[term:data ...]".
    func describe(_ id: NodeID) -> String {
        let n = nodes[id]!
        let first = n.log.firstIndex
        let entries = n.entries(first, n.lastIndex).map { "\($0.term):\(describe($0))" }
        return "\(id) \(n.role.rawValue) term=\(n.term) lead=\(n.leader) commit=\(n.commitIndex) applied=\(n.appliedIndex) log(\(first))=[\(entries.joined(separator: " "))]"
    }
}

extension TestCluster {
    /// A cluster whose node `i + 1` starts from `logs[i]`: the terms of entries 2, 3, ... after
    /// the bootstrap configuration entry (index 1, term 1), with current term `terms[i]`.
    init(logs: [[UInt64]], terms: [UInt64], configure: (inout RaftConfig) -> Void = { _ in }) {
        let ids = (1...NodeID(logs.count)).map { $0 }
        for (i, id) in ids.enumerated() {
            var config = RaftConfig(id: id, initialVoters: ids, seed: id)
            config.electionTicksMin = 10
            config.electionTicksMax = 20
            configure(&config)
            let storage = MemoryRaftStorage()
            var entries = [Entry(term: 1, index: 1, kind: .configuration, data: ConfState(voters: ids).encoded())]
            for (j, t) in logs[i].enumerated() { entries.append(Entry(term: t, index: UInt64(j + 2), data: Array("e\(j + 2)".utf8))) }
            storage.append(entries)
            storage.setHardState(HardState(term: terms[i], vote: 0, commit: 1))
            storages[id] = storage
            nodes[id] = RaftNode(config: config, storage: storage, applied: 1)
            applied[id] = []
        }
    }

    /// Elects `id` while dropping every append, so followers hold none of the new term's entries.
    mutating func electHoldingAppends(_ id: NodeID) {
        nodes[id]!.campaignNow()
        for _ in 0..<10 where nodes[id]!.role != .leader {
            for n in ids { processReady(n) }
            _ = take(kind: .append)
            deliver()
        }
        processReady(id)
        _ = take(kind: .append)
    }

    /// Terms of a node's whole log, for compact assertions.
    func terms(_ id: NodeID) -> [UInt64] {
        let n = nodes[id]!
        return n.entries(1, n.lastIndex).map(\.term)
    }

    /// Takes the queued messages from `from` to `to` (out of the network, undelivered).
    mutating func take(from: NodeID? = nil, to: NodeID? = nil, kind: MessageKind? = nil) -> [Message] {
        let match = { (m: Message) in (from == nil || m.from == from) && (to == nil || m.to == to) && (kind == nil || m.kind == kind) }
        let taken = network.filter(match)
        network.removeAll(where: match)
        return taken
    }
}

/// A message with the given fields, for feeding a node by hand.
func message(_ kind: MessageKind, from: NodeID, to: NodeID, term: UInt64,
             index: UInt64 = 0, logTerm: UInt64 = 0, commit: UInt64 = 0,
             entries: [(term: UInt64, index: UInt64)] = []) -> Message {
    var m = Message(kind: kind, from: from, to: to, term: term)
    m.index = index
    m.logTerm = logTerm
    m.commit = commit
    m.entries = entries.map { Entry(term: $0.term, index: $0.index, data: Array("e\($0.index)".utf8)) }
    return m
}
