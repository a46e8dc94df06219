import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Master
@testable import Model
@testable import Shared

/// A whole master in-process on port 0: recovery, the live API, the event feed, restart.
@Suite(.serialized) struct MasterNodeTests {
    static func start(_ dir: String) throws -> MasterNode {
        var config = MasterNode.Configuration(dataDirectory: dir)
        config.apiPort = 0
        config.snapshotEveryEntries = 5
        return try MasterNode.start(config)
    }

    @Test(.timeLimit(.minutes(1)))
    func eventsStreamLiveChanges() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let node = try Self.start(dir.path)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        let lines = Mutex<[String]>([])
        let watcher = Task {
            try await client.stream(HTTPRequest(method: .GET, target: "/v1/events"), onHead: { @Sendable head in head.status == 200 },
                                    onLine: { @Sendable line in
                                        lines.withLock { $0.append(String(decoding: line, as: UTF8.self)) }
                                        return lines.withLock { $0.count } < 2
                                    })
        }
        // Wait until the watcher is subscribed, then make two changes.
        for _ in 0..<200 where node.events.watcherCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let created = try await client.send(.POST, "/v1/jobs", body: Array(Samples.batch.utf8))
        #expect(created.status == 201)
        guard case .string(let id)? = try JSONParser.parse(created.bodyBytes)["id"] else { throw TestFailure("no id") }
        #expect(try await client.send(.DELETE, "/v1/jobs/\(id)").status == 200)
        _ = try await watcher.value
        let received = lines.withLock { $0 }
        #expect(received.count == 2)
        #expect(received.first?.contains(#""command":"createJob","kind":"job","id":"\#(id)","state":"Accepted""#) == true)
        #expect(received.last?.contains(#""command":"killJob""#) == true)
        #expect(try await client.send(.GET, "/v1/events?since=x").status == 400)
        client.shutdown()
        await node.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func restartRecoversFromSnapshotAndLog() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var ids: [String] = []
        do {
            let node = try Self.start(dir.path)
            let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
            for _ in 0..<12 {   // more than two snapshot intervals
                let r = try await client.send(.POST, "/v1/jobs", body: Array(Samples.service.utf8))
                guard case .string(let id)? = try JSONParser.parse(r.bodyBytes)["id"] else { throw TestFailure("no id") }
                ids.append(id)
            }
            #expect(try await client.send(.PUT, "/v1/jobs/\(ids[0])/capacity", body: Array(#"{"min":0,"desired":0,"max":4}"#.utf8)).status == 200)
            client.shutdown()
            await node.shutdown()
        }
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/snapshots")
        #expect(snapshots.contains { $0.hasPrefix("snapshot-") }, "snapshots were written: \(snapshots)")
        let node = try Self.start(dir.path)
        let client = try HTTPClient(url: "http://127.0.0.1:\(node.apiPort)")
        for id in ids { #expect(try await client.send(.GET, "/v1/jobs/\(id)").status == 200) }
        let first = try JSONParser.parse(try await client.send(.GET, "/v1/jobs/\(ids[0])").bodyBytes)
        #expect(first["spec"]?["service"]?["capacity"]?["desired"] == .int(0))
        #expect(node.store.read { $0.appliedIndex } == 13)
        client.shutdown()
        await node.shutdown()
    }
}
