import Foundation
import Model
import Shared
import Synchronization

/// `Bench agents --server URL --count N --seconds S --interval-ms I`: N simulated agents register,
/// then each sends a heartbeat (no wait, no tasks) every I ms for S seconds, their sends spread
/// evenly over the interval, each agent on a connection of its own as real agents are. Prints
/// the heartbeats sent, answered and failed, the achieved rate and the answer latency.
func agents() async throws {
    let server = flag("server", "http://127.0.0.1:4700")
    let seconds = max(1, Int(flag("seconds", "60")) ?? 60)
    let interval = Duration.milliseconds(max(10, Int(flag("interval-ms", "1000")) ?? 1_000))
    let beats = Int(Duration.seconds(seconds) / interval)
    let count = count
    let tally = TallyBox()
    let clients = try (0..<count).map { _ -> HTTPClient in
        var configuration = HTTPClient.Configuration()
        configuration.maxConnections = 1
        configuration.maxIdleConnections = 1
        configuration.requestTimeout = .seconds(10)
        return try HTTPClient(url: server, configuration: configuration)
    }
    let (_, registerWall) = try await runBounded(parallelism: 64, count: count) { i in
        let start = ContinuousClock.now
        try await register(clients[i], id: agentId(i))
        return ContinuousClock.now - start
    }
    print(String(format: "%d agents registered in %.0f ms", count, millis(registerWall)))
    let begin = ContinuousClock.now + .milliseconds(100)
    await withTaskGroup(of: Void.self) { group in
        for i in 0..<count {
            group.addTask {
                let offset = interval * (Double(i) / Double(count))
                for beat in 0..<beats {
                    try? await Task.sleep(until: begin + offset + interval * beat, clock: .continuous)
                    let start = ContinuousClock.now
                    let ok = await heartbeat(clients[i], id: agentId(i), sequence: UInt64(beat + 1))
                    let took = millis(ContinuousClock.now - start)
                    tally.state.withLock { $0.record(ok: ok, milliseconds: took) }
                }
            }
        }
    }
    let wall = ContinuousClock.now - begin
    let result = tally.state.withLock { $0 }
    let sorted = result.latencies.sorted()
    func pct(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    print(String(format: "heartbeats: %d answered, %d failed in %.1f s (%.0f/s); answer p50 %.2f ms p99 %.2f ms max %.1f ms",
                 result.answered, result.failed, millis(wall) / 1_000, Double(result.answered) / (millis(wall) / 1_000),
                 pct(0.5), pct(0.99), sorted.last ?? .nan))
    clients.forEach { $0.shutdown() }
}

func agentId(_ i: Int) -> String { "sim-\(i)" }

final class TallyBox: Sendable {
    let state = Mutex(AgentTally())
}

struct AgentTally {
    var answered = 0
    var failed = 0
    var latencies: [Double] = []

    mutating func record(ok: Bool, milliseconds: Double) {
        if ok { answered += 1; latencies.append(milliseconds) } else { failed += 1 }
    }
}

func register(_ client: HTTPClient, id: String) async throws {
    var w = JSONWriter()
    AgentRegistration(id: id, hostname: "\(id).bench", address: "127.0.0.1:0", attributes: ["zone": "z\(id.hashValue & 3)"],
                      resources: Resources(cpu: 16, memoryMB: 65_536)).write(to: &w)
    let r = try await client.send(.POST, "/v1/agents/register", headers: ["Content-Type": "application/json"], body: w.bytes)
    guard r.status == 200 else { throw BenchError("register \(id): \(r.status) \(String(decoding: r.bodyBytes.prefix(200), as: UTF8.self))") }
}

func heartbeat(_ client: HTTPClient, id: String, sequence: UInt64) async -> Bool {
    let request = HeartbeatRequest(sequence: sequence, assignmentsVersion: 0, reports: [], waitMilliseconds: 0)
    guard let r = try? await client.send(.POST, "/v1/agents/\(id)/heartbeat", headers: ["Content-Type": "application/json"],
                                         body: request.encoded()) else { return false }
    return r.status == 200
}
