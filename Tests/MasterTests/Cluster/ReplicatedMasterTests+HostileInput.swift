import Foundation
import Glibc
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Raft
@testable import Shared

/// Input that once stopped the whole group: a job that grew past the log's record limit once
/// encoded, and single frames on the peer port. Three real masters; afterwards they must still
/// elect a leader and acknowledge writes.
extension ReplicatedMasterTests {
    /// A job whose env holds `variables` values of `bytes` DEL characters each.
    static func delJob(variables: Int, bytes: Int) -> [UInt8] {
        let value = String(repeating: "\u{7F}", count: bytes)
        let env = (0..<variables).map { "\"V\($0)\":\"\(value)\"" }.joined(separator: ",")
        return Array(#"{"name":"del","owner":"o","type":"batch","container":{"image":"i","env":{\#(env)},"resources":{"cpu":1,"memoryMB":64}},"batch":{"size":1}}"#.utf8)
    }

    @Test(.timeLimit(.minutes(3)))
    func anOversizedJobIs413AndTheGroupKeepsElectingAndWriting() async throws {
        try await Self.withCluster(extraArguments: ["--max-body-bytes", String(8 << 20)]) { cluster, client, first in
            let leader = try client.client(first.address)
            // About 1 MiB of DEL: once six times that in the log, which stopped all three members.
            let del = Self.delJob(variables: 32, bytes: 30_000)
            let accepted = try await leader.send(.POST, "/v1/jobs", headers: ["Idempotency-Key": "del-1"], body: del, timeout: .seconds(10))
            #expect(accepted.status == 201, "\(String(decoding: accepted.bodyBytes.prefix(300), as: UTF8.self))")
            // Over the bound once encoded: a permanent 413 naming the field, the same on a retry.
            let big = Self.delJob(variables: 100, bytes: 30_000)
            for _ in 0..<2 {
                let refused = try await leader.send(.POST, "/v1/jobs", headers: ["Idempotency-Key": "big-1"], body: big, timeout: .seconds(10))
                let error = try JSONParser.parse(refused.bodyBytes)["error"]
                #expect(refused.status == 413 && error?["field"] == .string("container.env"), "\(String(decoding: refused.bodyBytes, as: UTF8.self))")
            }
            let again = try await leader.send(.POST, "/v1/jobs", headers: ["Idempotency-Key": "del-1"], body: del, timeout: .seconds(10))
            #expect(again.status == 201 && again.headers["Idempotent-Replayed"] == "true")
            guard case .acknowledged = await client.submit(key: "after-413") else { throw TestFailure("no write after the 413\n\(cluster.logs())") }

            // Every member still works: the leader dies, another is elected and takes writes.
            cluster.member(apiAddress: first.address)!.kill()
            let survivors = cluster.members.filter { $0.apiAddress != first.address }.map(\.apiAddress)
            let second = try await client.waitForLeader(among: survivors, after: first.term)
            #expect(second.address != first.address)
            guard case .acknowledged = await client.submit(key: "after-failover", first: 1) else {
                throw TestFailure("no write after the failover\n\(cluster.logs())")
            }
        }
    }

    /// One of each frame that stopped a master, sent to every master as a member would (the
    /// peer port is open in tests, as a peer token would make it), then a storm of forced vote
    /// requests while clients write. Every master stays up, one leads, writes are acknowledged,
    /// and each master counts what it dropped.
    @Test(.timeLimit(.minutes(3)))
    func hostilePeerFramesAreDroppedAndTheGroupKeepsWriting() async throws {
        try await Self.withCluster { cluster, client, first in
            let leaderName = first.selfName
            for target in cluster.members {
                let sender = cluster.members.first { $0.name != target.name && $0.name != leaderName }!.name
                let peer = try HTTPClient(url: "http://127.0.0.1:\(target.peerPort)")
                defer { peer.shutdown() }
                let status = try await Self.sendFrames(peer, from: sender, Self.hostileFrames(from: sender, to: target.name, term: UInt64(first.term)))
                #expect(status == 204)
                let stranger = try await Self.sendFrames(peer, from: "intruder", [RaftWire.encode(Message(kind: .heartbeat, from: RaftCluster.nodeID("intruder"), to: RaftCluster.nodeID(target.name), term: 99))])
                #expect(stranger == 403)
            }
            // Forced vote requests from a member that is no transfer target, with rising terms.
            let load = ClusterLoad(client: client, prefix: "storm")
            try await load.run(writers: 2) {
                let before = load.acknowledgedCount
                for round in 0..<40 {
                    for target in cluster.members {
                        let sender = cluster.members.first { $0.name != target.name && $0.name != leaderName }!.name
                        var vote = Message(kind: .vote, from: RaftCluster.nodeID(sender), to: RaftCluster.nodeID(target.name),
                                           term: UInt64(first.term) + UInt64(round) + 1)
                        (vote.index, vote.logTerm, vote.force) = (1 << 40, 1 << 40, true)
                        let peer = try HTTPClient(url: "http://127.0.0.1:\(target.peerPort)")
                        _ = try await Self.sendFrames(peer, from: sender, [RaftWire.encode(vote)])
                        peer.shutdown()
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await load.waitForAcknowledged(20, from: before, "during the storm", logs: cluster.logs())
            }
            for m in cluster.members { #expect(m.isRunning, "\(m.name) stopped\n\(cluster.logs())") }
            let leader = try await client.waitForLeader(among: cluster.members.map(\.apiAddress))
            // Before, every forced request moved every member to its term (2 → 51 for 40 rounds).
            #expect(leader.term < first.term + 5, "the storm moved the term from \(first.term): \(leader)")
            guard case .acknowledged = await client.submit(key: "after-garbage") else { throw TestFailure("no write\n\(cluster.logs())") }
            for m in cluster.members {
                let metrics = String(decoding: try await client.client(m.apiAddress).send(.GET, "/metrics").bodyBytes, as: UTF8.self)
                for reason in ["misaddressed", "entriesOutOfOrder", "malformedConfiguration", "badSnapshot", "unknownSender"] {
                    #expect(metrics.contains("fuller_raft_dropped_total{reason=\"\(reason)\"}"), "\(m.name): no \(reason)")
                }
            }
            // Forged `Fuller-Api` headers came with every frame above: followers still redirect
            // clients to the real leader.
            for m in cluster.members where m.name != leaderName {
                let r = try await client.client(m.apiAddress).send(.POST, "/v1/jobs", body: ClusterClient.spec)
                #expect(r.status == 307 && r.headers["Location"]?.hasPrefix("http://\(first.address)/") == true,
                        "\(m.name) redirects to \(r.headers["Location"] ?? "nothing")")
            }
        }
    }

    static func sendFrames(_ peer: HTTPClient, from sender: String, _ frames: [[UInt8]]) async throws -> Int {
        let headers: HTTPHeaders = [PeerTransport.fromHeader: sender, PeerTransport.apiHeader: "evil.example:80"]
        return try await peer.send(.POST, PeerTransport.path, headers: headers, body: PeerTransport.encode(frames), timeout: .seconds(5)).status
    }

    /// A heartbeat addressed to another node, an append whose index jumps ahead, an append with
    /// a malformed configuration entry, and a snapshot of 16 garbage bytes.
    static func hostileFrames(from sender: String, to target: String, term: UInt64) -> [[UInt8]] {
        let (from, to) = (RaftCluster.nodeID(sender), RaftCluster.nodeID(target))
        var heartbeat = Message(kind: .heartbeat, from: from, to: RaftCluster.nodeID("elsewhere"), term: term)
        heartbeat.commit = 1
        var jump = Message(kind: .append, from: from, to: to, term: term)
        (jump.index, jump.logTerm, jump.entries) = (1, 1, [Entry(term: term, index: 1_000, data: [1])])
        var conf = Message(kind: .append, from: from, to: to, term: term)
        (conf.index, conf.logTerm, conf.entries) = (1, 1, [Entry(term: term, index: 2, kind: .configuration, data: [9, 9, 9])])
        var snapshot = Message(kind: .snapshot, from: from, to: to, term: term + 100)
        snapshot.snapshot = Snapshot(metadata: SnapshotMetadata(index: 1_000, term: term + 100, conf: ConfState(voters: [from, to])),
                                     data: [UInt8](repeating: 0x5A, count: 16))
        return [heartbeat, jump, conf, snapshot].map(RaftWire.encode)
    }
}
