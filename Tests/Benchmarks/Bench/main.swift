import Foundation
import Model
import Shared
import Synchronization

// fuller-bench: the start-latency benchmark's measuring half (Tests/Benchmarks/start.sh runs it).
//
//   Bench raw    --socket PATH --image IMG --count N --parallel P
//   Bench fuller --server URL  --image IMG --count N --parallel P
//   Bench agents --server URL  --count N --seconds S --interval-ms I   (Tests/Benchmarks/agents.sh)
//
// `raw` creates and starts N containers straight through the Engine API; `fuller` submits N
// single-task jobs and times each from its POST to its task's `Started` event on /v1/events.
// Both print per-start p50/p99 and the wall time for all N, with at most P in flight.

let arguments = CommandLine.arguments
func flag(_ name: String, _ fallback: String) -> String {
    guard let i = arguments.firstIndex(of: "--\(name)"), i + 1 < arguments.count else { return fallback }
    return arguments[i + 1]
}
let mode = arguments.count > 1 ? arguments[1] : "help"
let image = flag("image", "fuller/busybox:latest")
let count = Int(flag("count", "100")) ?? 100
let parallel = max(1, Int(flag("parallel", "1")) ?? 1)

func millis(_ d: Duration) -> Double { Double(d.components.seconds) * 1_000 + Double(d.components.attoseconds) / 1e15 }

func report(_ label: String, _ samples: [Double], wall: Duration) {
    let sorted = samples.sorted()
    func pct(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    print(String(format: "%@: n=%d p50 %.1f ms  p99 %.1f ms  max %.1f ms  all %d done in %.0f ms",
                 label, sorted.count, pct(0.5), pct(0.99), sorted.last ?? .nan, sorted.count, millis(wall)))
}

/// Runs `body(i)` for i in 0..<count with at most `parallel` at once; returns each duration.
func runBounded(parallelism: Int = parallel, count: Int = count,
                _ body: @escaping @Sendable (Int) async throws -> Duration) async throws -> ([Double], Duration) {
    let parallel = parallelism
    let clock = ContinuousClock()
    let start = clock.now
    var samples: [Double] = []
    try await withThrowingTaskGroup(of: Duration.self) { group in
        var next = 0
        while next < min(parallel, count) { let i = next; group.addTask { try await body(i) }; next += 1 }
        while let d = try await group.next() {
            samples.append(millis(d))
            if next < count { let i = next; group.addTask { try await body(i) }; next += 1 }
        }
    }
    return (samples, clock.now - start)
}

func raw() async throws {
    let docker = HTTPClient(endpoint: .unix(path: flag("socket", "/var/run/docker.sock")))
    let run = UUID().uuidString.prefix(8)
    let (samples, wall) = try await runBounded { i in
        var w = JSONWriter()
        w.beginObject()
        w.field("Image", image)
        w.key("Cmd"); w.stringArray(["sleep", "300"])
        w.key("Labels"); w.stringMap(["fuller.bench": String(run)])
        w.key("HostConfig"); w.beginObject(); w.field("NanoCpus", 100_000_000); w.field("Memory", 32 << 20); w.endObject()
        w.endObject()
        let start = ContinuousClock.now
        let created = try await docker.send(.POST, "/v1.41/containers/create?name=fuller-bench-\(run)-\(i)",
                                            headers: ["Content-Type": "application/json"], body: w.bytes)
        guard created.status == 201, case .string(let id)? = try JSONParser.parse(created.bodyBytes)["Id"] else {
            throw BenchError("create: \(created.status) \(String(decoding: created.bodyBytes, as: UTF8.self))")
        }
        let started = try await docker.send(.POST, "/v1.41/containers/\(id)/start")
        guard started.status == 204 else { throw BenchError("start: \(started.status)") }
        return ContinuousClock.now - start
    }
    report("raw Engine API create+start", samples, wall: wall)
    // Clean up: remove every container of this run.
    let list = try await docker.send(.GET, "/v1.41/containers/json?all=1&filters=" +
        (#"{"label":["fuller.bench=\#(run)"]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    if case .array(let items) = try JSONParser.parse(list.bodyBytes) {
        for item in items { if case .string(let id)? = item["Id"] { _ = try? await docker.send(.DELETE, "/v1.41/containers/\(id)?force=1") } }
    }
}

func fuller() async throws {
    let server = flag("server", "http://127.0.0.1:4700")
    let api = try HTTPClient(url: server)
    let watcher = try HTTPClient(url: server)
    let startedAt = Mutex<[String: ContinuousClock.Instant]>([:])
    let watch = Task {
        try await watcher.stream(HTTPRequest(method: .GET, target: "/v1/events"), idleTimeout: .seconds(600),
                                 onHead: { @Sendable in $0.status == 200 }, onLine: { @Sendable line in
            let now = ContinuousClock.now
            guard let event = try? JSONParser.parse(Array(line)), event["kind"] == .string("task"),
                  event["state"] == .string("Started"), case .string(let id)? = event["id"] else { return true }
            startedAt.withLock { $0[id] = now }
            return true
        })
    }
    try await Task.sleep(for: .milliseconds(200))
    let spec = #"{"name":"bench","owner":"bench","type":"service","container":{"image":"\#(image)","command":["sleep","300"],"resources":{"cpu":0.1,"memoryMB":32}},"service":{"capacity":{"min":0,"desired":1,"max":1}}}"#
    let jobs = Mutex<[String]>([])
    let (samples, wall) = try await runBounded { _ in
        let start = ContinuousClock.now
        let r = try await api.send(.POST, "/v1/jobs", headers: ["Content-Type": "application/json"], body: Array(spec.utf8))
        guard r.status == 201, case .string(let jobId)? = try JSONParser.parse(r.bodyBytes)["id"] else { throw BenchError("submit: \(r.status)") }
        jobs.withLock { $0.append(jobId) }
        let taskId = "\(jobId)-0"
        let deadline = start + .seconds(120)
        while ContinuousClock.now < deadline {
            if let at = startedAt.withLock({ $0[taskId] }) { return at - start }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("task \(taskId) not Started within 120 s")
    }
    report("Fuller POST /v1/jobs → task Started", samples, wall: wall)
    watch.cancel()
    if flag("keep", "false") != "true" {
        for job in jobs.withLock({ $0 }) { _ = try? await api.send(.DELETE, "/v1/jobs/\(job)") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

switch mode {
case "raw": try await raw()
case "fuller": try await fuller()
case "agents": try await agents()
default:
    print("usage: Bench raw|fuller|agents [--socket PATH] [--server URL] [--image IMG] [--count N] [--parallel P] [--keep true] [--seconds S] [--interval-ms I]")
    exit(2)
}
