@testable import Raft

/// Probabilities and sizes for one simulated run; everything else comes from the seed.
struct SimOptions {
    var nodes = 3
    var safetyTicks = 250
    var livenessTicks = 80
    var convergenceTicks = 120
    /// Delivery rounds per tick: messages take 1...maxDelayRounds rounds.
    var roundsPerTick = 3
    var maxDelayRounds = 4
    var dropRate = 0.05
    var duplicateRate = 0.03
    var crashRate = 0.004
    var restartRate = 0.03
    var partitionRate = 0.01
    var healRate = 0.02
    var proposeRate = 0.4
    var readRate = 0.1
    var compactRate = 0.02
    var transferRate = 0.004
    /// A crash while handling a Ready, before (lose it all) or after persisting.
    var crashInReadyRate = 0.002
    var writesOutstandingMax = 6
    /// When set, only nodes 1–3 start as voters and the leader adds and removes servers (one at
    /// a time, keeping 3–5 voters); joiners start empty.
    var membershipChanges = false
    var membershipRate = 0.08
}

/// A violated invariant, with enough context to replay it.
struct SimulationFailure: Error, CustomStringConvertible {
    var description: String
}

/// One simulated node: the Raft core, its disk (storage survives crashes) and its volatile
/// state machine.
struct SimNode {
    var raft: RaftNode?
    let storage = MemoryRaftStorage()
    var machine = SimStateMachine()
    var incarnation: UInt64 = 0
    /// The shell's proposals awaiting their entry: index → (term, request id). Volatile.
    var proposals: [UInt64: (term: UInt64, request: String)] = [:]
}

/// A message on the wire, delivered at `round`.
struct InFlight {
    var round: Int
    var message: Message
}

/// A whole cluster derived from one seed: network chaos, crashes, clients, and invariant checks
/// after every delivery round. Safety phase, then liveness, then convergence.
struct Simulator {
    let seed: UInt64
    let options: SimOptions
    var rng: SplitMix64
    var nodes: [NodeID: SimNode] = [:]
    var ids: [NodeID]
    var network: [InFlight] = []
    var round = 0
    var tickCount = 0
    /// Directed pairs whose messages are dropped.
    var cut: Set<[NodeID]> = []
    var dropRate: Double
    /// Crashes happen only in the safety phase.
    var crashInReadyRate: Double

    // Invariant bookkeeping.
    var leaderOfTerm: [UInt64: NodeID] = [:]
    var appliedEntries: [UInt64: (term: UInt64, data: [UInt8])] = [:]
    var stateHashAt: [UInt64: UInt64] = [:]
    var acked: [String] = []
    var ackedSet: Set<String> = []
    var pendingWrites: [String: Int] = [:]
    var pendingReads: [[UInt8]: Int] = [:]
    var nextRequest = 0
    var trace = TraceRing()
    var stats = SimStats()

    init(seed: UInt64, options: SimOptions) {
        self.seed = seed
        self.options = options
        rng = SplitMix64(seed: seed)
        ids = (1...NodeID(options.nodes)).map { $0 }
        dropRate = options.dropRate
        crashInReadyRate = options.crashInReadyRate
        for id in ids {
            nodes[id] = SimNode()
            start(id)
        }
    }

    func config(for id: NodeID, incarnation: UInt64) -> RaftConfig {
        let initial = options.membershipChanges ? Array(ids.prefix(3)) : ids
        var c = RaftConfig(id: id, initialVoters: initial.contains(id) ? initial : [], seed: seed &* 31 &+ id &* 1_000_003 &+ incarnation)
        c.appendEntriesMax = 4
        c.inflightMessagesMax = 4
        c.uncommittedBytesMax = 2_000
        return c
    }

    /// (Re)starts a node from its disk; the state machine is rebuilt from the snapshot.
    mutating func start(_ id: NodeID) {
        var n = nodes[id]!
        n.incarnation += 1
        n.raft = RaftNode(config: config(for: id, incarnation: n.incarnation), storage: n.storage)
        n.machine = n.storage.snapshot().map(SimStateMachine.init(snapshot:)) ?? SimStateMachine()
        nodes[id] = n
        trace.add(round, "restart \(id) term=\(n.raft!.term) last=\(n.raft!.lastIndex)")
    }

    mutating func crash(_ id: NodeID) {
        nodes[id]!.raft = nil
        nodes[id]!.proposals = [:]
        stats.crashes += 1
        trace.add(round, "crash \(id)")
    }

    var live: [NodeID] { ids.filter { nodes[$0]!.raft != nil } }

    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) < p * 1_000_000 }
    mutating func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }

    // MARK: Running

    /// Runs all three phases; throws the first invariant violation.
    mutating func run() throws(SimulationFailure) {
        for _ in 0..<options.safetyTicks {
            chaos()
            try tick()
        }
        try liveness()
        try converge()
    }

    /// One tick of time: clients act, every live node ticks (a few skip, as clocks drift), then
    /// a few delivery rounds.
    mutating func tick() throws(SimulationFailure) {
        tickCount += 1
        clients()
        for id in live where chance(0.95) { nodes[id]!.raft!.tick() }
        for _ in 0..<options.roundsPerTick {
            round += 1
            for id in live { try processReady(id) }
            deliverDue()
            try checkInvariants()
        }
    }

    /// Handles one node's Ready per the contract, sometimes crashing part-way.
    mutating func processReady(_ id: NodeID) throws(SimulationFailure) {
        guard nodes[id]!.raft!.hasReady else { return }
        let rd = nodes[id]!.raft!.ready()
        if chance(crashInReadyRate) { crash(id); return }  // nothing persisted
        let storage = nodes[id]!.storage
        if let snap = rd.snapshot { storage.installSnapshot(snap) }
        storage.append(rd.entries)
        if let hard = rd.hardState { storage.setHardState(hard) }
        if chance(crashInReadyRate) { crash(id); return }  // persisted, never sent
        for m in rd.messages { send(m) }
        stats.messages += rd.messages.count
        if let soft = rd.softState, soft.role == .leader { stats.elections += 1 }
        if let snap = rd.snapshot {
            stats.snapshotsInstalled += 1
            nodes[id]!.machine = SimStateMachine(snapshot: snap)
            try checkState(id)
        }
        for e in rd.committedEntries { try applyEntry(e, on: id) }
        for r in rd.readStates { try serveRead(r, on: id) }
        if let soft = rd.softState { trace.add(round, "\(id) \(soft.role.rawValue) term=\(nodes[id]!.raft!.term)") }
        nodes[id]!.raft!.advance(rd)
    }

    mutating func send(_ m: Message) {
        if cut.contains([m.from, m.to]) || chance(dropRate) { return }
        network.append(InFlight(round: round + 1 + Int(rng.next() % UInt64(options.maxDelayRounds)), message: m))
        if chance(options.duplicateRate) {
            network.append(InFlight(round: round + 1 + Int(rng.next() % UInt64(options.maxDelayRounds)), message: m))
        }
    }

    /// Delivers due messages in a random order (delays already reorder them).
    mutating func deliverDue() {
        var due: [Message] = []
        network.removeAll { f in
            if f.round <= round { due.append(f.message); return true }
            return false
        }
        due.shuffle(using: &rng)
        for m in due where nodes[m.to]!.raft != nil && !cut.contains([m.from, m.to]) {
            if m.kind != .heartbeat && m.kind != .heartbeatResponse {
                trace.add(round, "\(m.from)→\(m.to) \(m.kind.rawValue) t=\(m.term) i=\(m.index) n=\(m.entries.count) c=\(m.commit)\(m.reject ? " reject" : "")")
            }
            nodes[m.to]!.raft!.step(m)
        }
    }
}

/// What a run exercised, to check the simulator is not idling.
struct SimStats: CustomStringConvertible {
    var crashes = 0
    var elections = 0
    var messages = 0
    var snapshotsInstalled = 0
    var readsServed = 0
    var acked = 0
    var membershipChanges = 0

    var description: String {
        "membership=\(membershipChanges) crashes=\(crashes) elections=\(elections) messages=\(messages) snapshots=\(snapshotsInstalled) reads=\(readsServed) acked=\(acked)"
    }

    static func + (a: SimStats, b: SimStats) -> SimStats {
        SimStats(crashes: a.crashes + b.crashes, elections: a.elections + b.elections, messages: a.messages + b.messages,
                 snapshotsInstalled: a.snapshotsInstalled + b.snapshotsInstalled, readsServed: a.readsServed + b.readsServed,
                 acked: a.acked + b.acked, membershipChanges: a.membershipChanges + b.membershipChanges)
    }
}

/// The last events of a run, printed with a failure.
struct TraceRing {
    private var lines: [String] = []
    private var next = 0
    let capacity = 60

    mutating func add(_ round: Int, _ line: @autoclosure () -> String) {
        let text = "r\(round) \(line())"
        if lines.count < capacity { lines.append(text) } else { lines[next] = text }
        next = (next + 1) % capacity
    }

    var text: String {
        let ordered = lines.count < capacity ? lines : Array(lines[next...] + lines[..<next])
        return ordered.joined(separator: "\n")
    }
}
