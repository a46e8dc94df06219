/// Elections: pre-vote, vote, role changes.
extension RaftNode {
    enum CampaignKind {
        case preVote, election
        /// Started by `timeoutNow`: skips pre-vote and overrides the voters' leader lease.
        case transfer
    }

    /// Resets per-term volatile state; the vote is kept only when the term does not change.
    mutating func reset(term newTerm: UInt64) {
        if newTerm != term {
            precondition(newTerm > term, "term went back from \(term) to \(newTerm)")
            term = newTerm
            vote = 0
        }
        leader = 0
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTicks = Int.random(in: config.electionTicksMin...config.electionTicksMax, using: &rng)
        votes = [:]
        transferTarget = 0
        announcedTransferee = 0
        uncommitted = []
        uncommittedBytes = 0
        reads = ReadQueue()
        progress = [:]
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    mutating func campaign(_ kind: CampaignKind) {
        precondition(isPromotable, "only a voter campaigns")
        // Terms never wrap: a node at the last one (reachable only through a store written
        // before peers' terms were bounded, `termJumpMax`) stays a follower.
        guard term < .max else { return }
        let voteTerm: UInt64
        if kind == .preVote {
            // Term and vote stay as they are: a pre-vote changes nothing anyone persists.
            reset(term: term)
            role = .preCandidate
            voteTerm = term + 1
        } else {
            reset(term: term + 1)
            role = .candidate
            vote = id
            voteTerm = term
        }
        votes[id] = true
        if tallyVotes() { return }
        for peer in membership.current.voters where peer != id {
            var m = Message(kind: kind == .preVote ? .preVote : .vote, from: id, to: peer, term: voteTerm)
            m.index = log.lastIndex
            m.logTerm = log.lastTerm
            m.force = kind == .transfer
            send(m)
        }
    }

    /// Counts votes; wins or loses the (pre-)election when a quorum has answered either way.
    /// Returns true when the outcome was decided.
    @discardableResult
    mutating func tallyVotes() -> Bool {
        let granted = membership.current.voters.filter { votes[$0] == true }.count
        let rejected = membership.current.voters.filter { votes[$0] == false }.count
        if granted >= quorum {
            if role == .preCandidate { campaign(.election) } else { becomeLeader() }
            return true
        }
        if rejected >= quorum {
            becomeFollower(term: term, leader: 0)
            return true
        }
        return false
    }

    /// Figure 2, RequestVote: grant if we have not voted for someone else this term (or, for a
    /// pre-vote, the asked-for term is ahead of ours) and the candidate's log is at least as
    /// up-to-date as ours. A granted vote is persisted (hard state) before the reply is sent.
    mutating func handleVoteRequest(_ m: Message) {
        let pre = m.kind == .preVote
        let canVote = vote == m.from || (vote == 0 && leader == 0) || (pre && m.term > term)
        var r = makeMessage(pre ? .preVoteResponse : .voteResponse, to: m.from)
        if canVote && log.isUpToDate(lastIndex: m.index, lastTerm: m.logTerm) {
            // Answer in the term asked about, so the candidate counts it.
            r.term = m.term
            if !pre {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            r.reject = true
        }
        send(r)
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader")
        reset(term: term)
        role = .leader
        leader = id
        for peer in membership.current.members {
            progress[peer] = makeProgress(for: peer)
        }
        pendingConfIndex = membership.lastIndex
        // The no-op lets the leader commit (and learn the commit index) in its own term.
        appendLocal([Entry(term: term, index: 0)])
    }

    func makeProgress(for peer: NodeID) -> Progress {
        var p = Progress(next: log.lastIndex + 1, isLearner: !membership.current.isVoter(peer), config: config)
        if peer == id {
            p.match = log.stableLastIndex
            p.state = .replicate
        }
        p.recentActive = true
        return p
    }
}
