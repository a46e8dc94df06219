@testable import Raft

extension Simulator {
    // MARK: Chaos (safety phase only)

    mutating func chaos() {
        if chance(options.partitionRate) { partition() }
        if chance(options.healRate) && !cut.isEmpty {
            cut = []
            trace.add(round, "heal")
        }
        if chance(options.crashRate), let id = live.randomElement(using: &rng) { crash(id) }
        for id in ids where nodes[id]!.raft == nil && chance(options.restartRate) { start(id) }
        if chance(options.compactRate), let id = live.randomElement(using: &rng) { compact(id) }
        if options.membershipChanges && chance(options.membershipRate) { changeMembership() }
        if chance(options.transferRate), let l = currentLeader {
            let target = pick(ids.filter { $0 != l })
            try? nodes[l]!.raft!.transferLeadership(to: target)
            trace.add(round, "transfer \(l)→\(target)")
        }
    }

    /// The leader adds a non-voter or removes a voter (possibly itself), keeping 3–5 voters.
    mutating func changeMembership() {
        guard let l = currentLeader else { return }
        let voters = nodes[l]!.raft!.conf.voters
        let outside = ids.filter { !voters.contains($0) }
        let change: MembershipChange
        if voters.count <= 3 || (!outside.isEmpty && chance(0.5)) {
            guard !outside.isEmpty else { return }
            change = .addVoter(pick(outside))
        } else {
            change = .remove(pick(voters))
        }
        if (try? nodes[l]!.raft!.proposeMembershipChange(change)) != nil {
            stats.membershipChanges += 1
            trace.add(round, "\(l) proposes \(change)")
        }
    }

    /// A random split: symmetric halves, one isolated node, or a one-way cut.
    mutating func partition() {
        cut = []
        let shuffled = ids.shuffled(using: &rng)
        let k = 1 + Int(rng.next() % UInt64(ids.count - 1))
        let (a, b) = (Array(shuffled[..<k]), Array(shuffled[k...]))
        let oneWay = chance(0.3)
        for x in a { for y in b { cut.insert([x, y]); if !oneWay { cut.insert([y, x]) } } }
        trace.add(round, "partition \(a) \(oneWay ? "-/->" : "|") \(b)")
    }

    mutating func compact(_ id: NodeID) {
        let applied = nodes[id]!.raft!.appliedIndex
        guard applied > nodes[id]!.storage.firstIndex + 3 else { return }
        precondition(nodes[id]!.machine.appliedIndex == applied, "state machine behind the core")
        guard let meta = nodes[id]!.raft!.snapshotTaken(at: applied) else { return }
        nodes[id]!.storage.saveSnapshotAndCompact(Snapshot(metadata: meta, data: nodes[id]!.machine.snapshotData()))
        trace.add(round, "compact \(id) through \(applied)")
    }

    var currentLeader: NodeID? {
        live.filter { nodes[$0]!.raft!.role == .leader }.max { nodes[$0]!.raft!.term < nodes[$1]!.raft!.term }
    }

    // MARK: Clients

    /// New writes up to a bound, retries of old ones (which may land in the log twice), reads.
    mutating func clients() {
        guard let leader = currentLeader else { return }
        if pendingWrites.count < options.writesOutstandingMax && chance(options.proposeRate) {
            nextRequest += 1
            pendingWrites["w\(nextRequest)"] = tickCount - 100
        }
        for (id, last) in pendingWrites.sorted(by: { $0.key < $1.key }) where tickCount - last >= 15 {
            if let at = try? nodes[leader]!.raft!.propose(Array(id.utf8)) {
                pendingWrites[id] = tickCount
                nodes[leader]!.proposals[at.index] = (at.term, id)
            }
        }
        if chance(options.readRate) {
            nextRequest += 1
            let context = Array("r\(nextRequest)".utf8)
            if (try? nodes[leader]!.raft!.readIndex(context: context)) != nil { pendingReads[context] = acked.count }
        }
    }

    // MARK: Applying and invariants

    mutating func applyEntry(_ e: Entry, on id: NodeID) throws(SimulationFailure) {
        if let seen = appliedEntries[e.index] {
            guard seen.term == e.term && seen.data == e.data else {
                throw fail("committed entry \(e.index) diverged: term \(seen.term) vs \(e.term) on node \(id)")
            }
        } else {
            appliedEntries[e.index] = (e.term, e.data)
        }
        guard e.index == nodes[id]!.machine.appliedIndex + 1 else {
            throw fail("node \(id) applied \(e.index) after \(nodes[id]!.machine.appliedIndex)")
        }
        nodes[id]!.machine.apply(e)
        try checkState(id)
        // The shell that accepted the proposal answers the client once it applies that very
        // entry (same index and term): the write is acknowledged.
        if let p = nodes[id]!.proposals.removeValue(forKey: e.index), p.term == e.term, !ackedSet.contains(p.request) {
            acked.append(p.request)
            ackedSet.insert(p.request)
            pendingWrites[p.request] = nil
            stats.acked += 1
        }
    }

    /// Equal applied indexes mean equal states.
    mutating func checkState(_ id: NodeID) throws(SimulationFailure) {
        let m = nodes[id]!.machine
        if let h = stateHashAt[m.appliedIndex], h != m.hash {
            throw fail("node \(id) state at index \(m.appliedIndex) differs from another node's")
        }
        stateHashAt[m.appliedIndex] = m.hash
        if m.ids.count != m.seen.count { throw fail("node \(id) applied a request twice") }
    }

    /// A confirmed read must see every write acknowledged before it was issued.
    mutating func serveRead(_ r: ReadState, on id: NodeID) throws(SimulationFailure) {
        guard let ackedBefore = pendingReads.removeValue(forKey: r.context) else { return }
        let m = nodes[id]!.machine
        stats.readsServed += 1
        guard m.appliedIndex >= r.index else { throw fail("read served at \(m.appliedIndex) before its index \(r.index)") }
        for w in acked[..<ackedBefore] where !m.seen.contains(w) {
            throw fail("stale read on node \(id): missing acknowledged write \(w)")
        }
    }

    mutating func checkInvariants() throws(SimulationFailure) {
        for id in live {
            let r = nodes[id]!.raft!
            guard r.role == .leader else { continue }
            if let other = leaderOfTerm[r.term], other != id {
                throw fail("two leaders in term \(r.term): \(other) and \(id)")
            }
            leaderOfTerm[r.term] = id
        }
    }

    func fail(_ what: String) -> SimulationFailure {
        var lines = ["seed=\(seed) nodes=\(options.nodes) tick=\(tickCount) round=\(round): \(what)"]
        lines.append("replay: FULLER_RAFT_SEED=\(seed) FULLER_RAFT_NODES=\(options.membershipChanges ? "m" : String(options.nodes)) swift test --filter RaftSimulationTests")
        for id in ids {
            if let r = nodes[id]!.raft {
                lines.append("  node \(id): \(r.role.rawValue) term=\(r.term) commit=\(r.commitIndex) applied=\(r.appliedIndex) last=\(r.lastIndex)")
            } else {
                lines.append("  node \(id): down")
            }
        }
        lines.append("  pending writes: \(pendingWrites.keys.sorted())")
        lines.append("last events:")
        lines.append(trace.text)
        return SimulationFailure(description: lines.joined(separator: "\n"))
    }

    // MARK: Liveness and convergence

    /// Heals a majority (restarts its crashed nodes, reconnects it, no loss): a leader must be
    /// elected and a new write committed within `livenessTicks`.
    mutating func liveness() throws(SimulationFailure) {
        // With membership changes the voters move, so heal everyone; otherwise just a majority.
        let majority = options.membershipChanges ? ids : Array(ids.shuffled(using: &rng).prefix(ids.count / 2 + 1))
        trace.add(round, "liveness: heal majority \(majority.sorted())")
        for id in majority where nodes[id]!.raft == nil { start(id) }
        cut = cut.filter { !(majority.contains($0[0]) && majority.contains($0[1])) }
        dropRate = 0
        crashInReadyRate = 0
        nextRequest += 1
        let probe = "live\(nextRequest)"
        pendingWrites[probe] = tickCount - 100
        for _ in 0..<options.livenessTicks {
            try tick()
            if ackedSet.contains(probe) { return }
        }
        throw fail("liveness: no write committed within \(options.livenessTicks) ticks after healing a majority")
    }

    /// Heals everything; every node must catch up, and hold every acknowledged write.
    mutating func converge() throws(SimulationFailure) {
        for id in ids where nodes[id]!.raft == nil { start(id) }
        cut = []
        trace.add(round, "converge: heal all")
        for _ in 0..<options.convergenceTicks {
            try tick()
            if caughtUp { break }
        }
        guard caughtUp else { throw fail("convergence: nodes did not catch up within \(options.convergenceTicks) ticks") }
        for id in members {
            for w in acked where !nodes[id]!.machine.seen.contains(w) {
                throw fail("acknowledged write \(w) missing on node \(id)")
            }
        }
    }

    /// Nodes in the current leader's membership (everyone when there is no leader).
    private var members: [NodeID] {
        guard let l = currentLeader else { return ids }
        return nodes[l]!.raft!.conf.members
    }

    private var caughtUp: Bool {
        guard let l = currentLeader else { return false }
        let target = nodes[l]!.raft!.commitIndex
        return pendingWrites.isEmpty && members.allSatisfy { nodes[$0]!.machine.appliedIndex == target }
    }
}
