@testable import Raft

/// Runs a scenario script against a `TestCluster` and returns the transcript: each command
/// echoed as `> command`, followed by what it printed. Commands:
///
///     nodes N [prevote=off] [checkquorum=off]   a fresh group of N nodes
///     logs term=T : 2 2 | 2 | - | 3             nodes whose logs hold these terms after index 1
///     tick ID|all [xK]        campaign ID          process (run every node's Ready)
///     run K                   (K times: tick every node, then stabilize)
///     deliver [ID]            stabilize            drop KIND (discard queued messages)
///     partition 1 2 | 3       heal                 propose ID "data"
///     read ID "ctx"           transfer ID TARGET   compact ID
///     add-voter ID NEW        add-learner ID NEW   remove ID OLD
///     ack LEADER FROM INDEX   (an append response delivered by hand)
///     status [ID]             log ID
struct ScenarioRunner {
    var cluster = TestCluster(size: 1)
    var output: [String] = []

    mutating func run(_ script: String) -> String {
        for raw in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = Self.words(line)
            guard !words.isEmpty else { continue }
            output.append("> " + words.joined(separator: " "))
            execute(words)
        }
        return output.joined(separator: "\n") + "\n"
    }

    /// Splits on spaces, keeping "quoted strings" whole (without the quotes).
    static func words(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle(); if !quoted { out.append(current); current = "" }; continue }
            if ch == " " && !quoted {
                if !current.isEmpty { out.append(current); current = "" }
                continue
            }
            current.append(ch)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private mutating func execute(_ w: [String]) {
        let id = { (i: Int) in NodeID(w[i])! }
        switch w[0] {
        case "nodes":
            let pre = !w.contains("prevote=off")
            let cq = !w.contains("checkquorum=off")
            cluster = TestCluster(size: Int(w[1])!) { $0.preVote = pre; $0.checkQuorum = cq }
            cluster.stabilize()
        case "logs": makeLogs(w)
        case "tick":
            let times = w.count > 2 ? Int(w[2].dropFirst())! : 1
            if w[1] == "all" { cluster.tickAll(times: times) } else { cluster.tick(id(1), times: times) }
        case "run":
            for _ in 0..<Int(w[1])! {
                cluster.tickAll()
                cluster.stabilize()
            }
        case "campaign": cluster[id(1)].campaignNow()
        case "process": for n in cluster.ids { cluster.processReady(n) }
        case "deliver":
            let target = w.count > 1 ? id(1) : nil
            let msgs = cluster.network.filter { target == nil || $0.to == target }
            output.append(contentsOf: msgs.map(Self.describe))
            cluster.deliver(to: target)
        case "drop":
            let kind = MessageKind(rawValue: w[1])!
            output.append(contentsOf: cluster.take(kind: kind).map { "dropped " + Self.describe($0) })
        case "stabilize": cluster.stabilize()
        case "partition":
            let bar = w.firstIndex(of: "|")!
            cluster.partition(w[1..<bar].map { NodeID($0)! }, w[(bar + 1)...].map { NodeID($0)! })
        case "heal": cluster.heal()
        case "propose": report { (c: inout TestCluster) throws(RaftError) in try c.propose(id(1), w[2]) }
        case "read": report { (c: inout TestCluster) throws(RaftError) in try c[id(1)].readIndex(context: Array(w[2].utf8)) }
        case "transfer": report { (c: inout TestCluster) throws(RaftError) in try c[id(1)].transferLeadership(to: id(2)) }
        case "add-voter", "add-learner", "remove": membership(w)
        case "compact": cluster.compact(id(1))
        case "ack":
            cluster[id(1)].step(message(.appendResponse, from: id(2), to: id(1), term: cluster[id(1)].term, index: UInt64(w[3])!))
        case "status":
            let which = w.count > 1 ? [id(1)] : cluster.ids
            output.append(contentsOf: which.map { cluster.describe($0) })
        case "log":
            output.append("applied: [" + cluster.applied[id(1)]!.joined(separator: " ") + "]")
            output.append(contentsOf: cluster.readStates[id(1), default: []].map { "read \(String(decoding: $0.context, as: UTF8.self)) at \($0.index)" })
        default:
            preconditionFailure("unknown scenario command \(w[0])")
        }
    }

    private mutating func makeLogs(_ w: [String]) {
        let term = UInt64(w[1].split(separator: "=")[1])!
        let groups = w[3...].split(separator: "|").map { g in g.filter { $0 != "-" }.map { UInt64($0)! } }
        cluster = TestCluster(logs: groups, terms: Array(repeating: term, count: groups.count))
    }

    private mutating func membership(_ w: [String]) {
        let leader = NodeID(w[1])!
        let node = NodeID(w[2])!
        let change: MembershipChange = w[0] == "add-voter" ? .addVoter(node) : w[0] == "add-learner" ? .addLearner(node) : .remove(node)
        report { (c: inout TestCluster) throws(RaftError) in
            try c[leader].proposeMembershipChange(change)
            // A new server starts empty and learns the membership from the leader.
            if c.nodes[node] == nil { c.add(node, voters: []) }
        }
    }

    private mutating func report(_ body: (inout TestCluster) throws(RaftError) -> Void) {
        do { try body(&cluster) } catch { output.append("error: \(error)") }
    }

    static func describe(_ m: Message) -> String {
        var s = "\(m.from)->\(m.to) \(m.kind.rawValue) term=\(m.term)"
        switch m.kind {
        case .append:
            let entries = m.entries.map { "\($0.term)/\($0.index)" }.joined(separator: " ")
            s += " prev=\(m.index)/\(m.logTerm) commit=\(m.commit) entries=[\(entries)]"
        case .appendResponse:
            s += m.reject ? " reject=\(m.index) hint=\(m.rejectHint)/\(m.logTerm)" : " index=\(m.index)"
        case .vote, .preVote: s += " last=\(m.index)/\(m.logTerm)"
        case .voteResponse, .preVoteResponse: s += m.reject ? " rejected" : " granted"
        case .heartbeat: s += " commit=\(m.commit)"
        case .snapshot: s += " snapshot=\(m.snapshot!.metadata.index)/\(m.snapshot!.metadata.term)"
        case .heartbeatResponse, .timeoutNow: break
        }
        return s
    }
}
