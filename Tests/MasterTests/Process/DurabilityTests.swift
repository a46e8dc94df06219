import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import Model
@testable import Shared

/// Restarting the master loses nothing it acknowledged: a real process, SIGKILLed mid-load.
@Suite(.serialized) struct DurabilityTests {
    static let spec = #"{"name":"d","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},"batch":{"size":1}}"#

    @Test(.timeLimit(.minutes(2)))
    func sigkillDuringWritesLosesNoAcknowledgedJob() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Small snapshot interval so snapshots and WAL truncation happen during the run.
        let master = try MasterProcess(dataDirectory: dir.path, extraArguments: ["--snapshot-every", "40"])
        let run = RunState()
        let writers = 8
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    let client = try! HTTPClient(url: master.url)
                    defer { client.shutdown() }
                    var i = 0
                    while !run.stop.load(ordering: .relaxed) && i < 1_000 {
                        let key = "w\(w)-\(i)"
                        i += 1
                        guard let r = try? await client.send(.POST, "/v1/jobs", headers: ["Idempotency-Key": key],
                                                             body: Array(Self.spec.utf8)), r.status == 201,
                              case .string(let id)? = (try? JSONParser.parse(r.bodyBytes))?["id"] else { continue }
                        run.acknowledged.withLock { $0[key] = id }
                    }
                }
            }
            group.addTask {
                while run.acknowledged.withLock({ $0.count }) < 200 { try? await Task.sleep(for: .milliseconds(5)) }
                master.kill(SIGKILL)
                run.stop.store(true, ordering: .relaxed)
            }
        }
        let acked = run.acknowledged.withLock { $0 }
        #expect(acked.count >= 200)

        let restarted = try MasterProcess(dataDirectory: dir.path)
        defer { restarted.kill(SIGTERM) }
        let client = try HTTPClient(url: restarted.url)
        defer { client.shutdown() }
        var missing: [String] = []
        for (key, id) in acked {
            let r = try await client.send(.GET, "/v1/jobs/\(id)")
            if r.status != 200 { missing.append(id) }
            // The same key after the restart must give back the same job, never a second one.
            let again = try await client.send(.POST, "/v1/jobs", headers: ["Idempotency-Key": key], body: Array(Self.spec.utf8))
            #expect(again.status == 201)
            #expect((try? JSONParser.parse(again.bodyBytes))?["id"] == .string(id))
        }
        #expect(missing.isEmpty, "acknowledged jobs lost: \(missing.prefix(5))")
        // No job exists twice: every job listed has a distinct idempotency key.
        var keys = Set<String>()
        var cursor: String?
        repeat {
            let page = try await client.send(.GET, "/v1/jobs?limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""))
            let json = try JSONParser.parse(page.bodyBytes)
            guard case .array(let items)? = json["items"] else { throw TestFailure("no items") }
            for item in items {
                if case .string(let key)? = item["idempotencyKey"] { #expect(keys.insert(key).inserted, "duplicate \(key)") }
            }
            if case .string(let next)? = json["nextCursor"] { cursor = next } else { cursor = nil }
        } while cursor != nil
        #expect(keys.isSuperset(of: acked.keys))
    }
}

/// What the writers share: acknowledged idempotency keys (→ job id) and the stop flag.
private final class RunState: Sendable {
    let acknowledged = Mutex<[String: String]>([:])
    let stop = Atomic<Bool>(false)
}
