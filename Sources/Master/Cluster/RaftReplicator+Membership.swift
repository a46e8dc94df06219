import Raft
import Shared

/// Why a membership change or a leadership transfer did not happen.
enum MembershipError: Error, Sendable, Equatable {
    /// This node is not the leader; the leader's API address if known.
    case notLeader(leaderAPI: String?)
    /// Another change is uncommitted (or a learner still waits for promotion).
    case pending
    /// The core refused the change for the current membership (already a voter, last voter...).
    case invalid
    /// The change was proposed but did not commit in time; it may still take effect.
    case timedOut
}

extension RaftReplicator {
    /// Work for the loop thread that needs the node itself, not just a log entry.
    enum Control: Sendable {
        /// Propose a configuration change; answered once its entry is applied here.
        case change(MembershipChange, @Sendable (Result<Void, MembershipError>) -> Void)
        /// Hand leadership to the most caught-up other voter; answered with the target chosen
        /// (nil when this node does not lead or has no other voter).
        case transfer(@Sendable (NodeID?) -> Void)

        func refuse(_ error: MembershipError) {
            switch self {
            case .change(_, let completion): completion(.failure(error))
            case .transfer(let completion): completion(nil)
            }
        }
    }

    /// Proposes one membership change (leader only). `completion` runs on the loop thread once
    /// the configuration entry is applied on this node, or fails as soon as it is refused or
    /// leadership is lost.
    func proposeMembershipChange(_ change: MembershipChange, completion: @escaping @Sendable (Result<Void, MembershipError>) -> Void) {
        enqueue(.change(change, completion))
    }

    /// Asks the loop to hand leadership to the voter whose log is most complete.
    func transferLeadership(completion: @escaping @Sendable (NodeID?) -> Void) {
        enqueue(.transfer(completion))
    }

    private func enqueue(_ control: Control) {
        let accepted = inbox.withLock { i -> Bool in
            guard !i.stopped, i.controls.count < 64 else { return false }
            i.controls.append(control)
            return true
        }
        if accepted { wake.signal() } else { control.refuse(.pending) }
    }

    // MARK: On the loop thread

    func control(_ l: inout LoopState, _ control: Control) {
        switch control {
        case let .change(change, completion):
            do {
                try l.node.proposeMembershipChange(change)
                l.pendingConf[l.node.lastIndex] = (l.node.term, completion)
            } catch .notLeader(let leader) {
                completion(.failure(.notLeader(leaderAPI: leaderAPI(leader))))
            } catch .membershipChangePending, .transferInProgress, .busy {
                completion(.failure(.pending))
            } catch {
                completion(.failure(.invalid))
            }
        case let .transfer(completion):
            guard let target = mostCaughtUpVoter(l.node) else { return completion(nil) }
            do { try l.node.transferLeadership(to: target) } catch { return completion(nil) }
            logger.info("handing leadership over", ["to": .int(Int64(bitPattern: target))])
            completion(target)
        }
    }

    /// The other voter with the highest match index (ties: the lowest id), nil if none.
    private func mostCaughtUpVoter(_ node: RaftNode) -> NodeID? {
        node.conf.voters.filter { $0 != node.id }
            .compactMap { id in node.matchIndex(of: id).map { (id, $0) } }
            .max { a, b in a.1 != b.1 ? a.1 < b.1 : a.0 > b.0 }?.0
    }

    /// Leader only, once per tick: a learner whose log has reached the commit index becomes a
    /// voter. New masters join as learners so that a slow catch-up (a large snapshot) never
    /// counts towards, or holds up, the quorum; promotion is automatic so an add needs one call
    /// and survives a change of leader.
    func promoteCaughtUpLearner(_ l: inout LoopState) {
        guard l.node.role == .leader, !l.node.membershipChangePending else { return }
        for learner in l.node.conf.learners {
            guard let match = l.node.matchIndex(of: learner), match >= l.node.commitIndex else { continue }
            do {
                try l.node.proposeMembershipChange(.addVoter(learner))
                logger.info("promoting a caught-up learner", ["node": .int(Int64(bitPattern: learner)), "match": .int(Int64(match))])
            } catch {
                // Refused for now (a transfer, the uncommitted-bytes limit); the next tick retries.
            }
            return
        }
    }

    /// A configuration entry was applied: answer whoever proposed it.
    func changeApplied(_ l: inout LoopState, _ entry: Entry) {
        guard let waiter = l.pendingConf.removeValue(forKey: entry.index) else { return }
        if waiter.term == entry.term {
            waiter.completion(.success(()))
        } else {
            waiter.completion(.failure(.notLeader(leaderAPI: leaderAPI(l.node.leader))))
        }
    }

    func failPendingChanges(_ l: inout LoopState, leaderAPI leader: String?) {
        for (_, waiter) in l.pendingConf { waiter.completion(.failure(.notLeader(leaderAPI: leader))) }
        l.pendingConf = [:]
    }
}
