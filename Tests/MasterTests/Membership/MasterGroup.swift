import Foundation
import Glibc
import Synchronization
import TestSupport
@testable import Model
@testable import Shared

/// A replicated group of real `fuller-master` processes on loopback, for membership tests.
final class MasterGroup: @unchecked Sendable {
    // @unchecked: `processes` and `peerPorts` change only on the test's own thread (start/stop);
    // the writer threads only read them.
    private(set) var processes: [String: MasterProcess] = [:]
    private var peerPorts: [String: Int] = [:]
    let directory: TemporaryDirectory
    static let spec = #"{"name":"m","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},"batch":{"size":1}}"#

    /// Starts `names` as a fresh group (each bootstraps with the same `--peers`).
    let extraArguments: [String]

    init(names: [String], extraArguments: [String] = []) throws {
        directory = try TemporaryDirectory()
        self.extraArguments = extraArguments
        for name in names { peerPorts[name] = try freePort() }
        for name in names { _ = try start(name, join: false) }
    }

    func peerAddress(_ name: String) -> String { "127.0.0.1:\(peerPorts[name]!)" }

    /// Starts (or restarts) `name`; `--peers` lists `peers`, by default every master started so
    /// far plus this one.
    @discardableResult
    func start(_ name: String, join: Bool, peers: [String]? = nil) throws -> String {
        if peerPorts[name] == nil { peerPorts[name] = try freePort() }
        let list = (peers ?? peerPorts.keys.sorted()).map { "\($0)=\(peerAddress($0))" }.joined(separator: ",")
        processes[name] = try MasterProcess(dataDirectory: directory.path + "/" + name, extraArguments:
            ["--id", name, "--peers", list, "--fsync=false"] + extraArguments + (join ? ["--join"] : []))
        return name
    }

    func url(_ name: String) -> String { processes[name]!.url }

    func stop() {
        for p in processes.values where p.process.isRunning { p.kill(SIGKILL) }
        directory.remove()
    }

    // MARK: Requests

    struct Reply {
        var status: Int
        var body: JSONValue?
        var location: String?
        var error: (code: String, field: String?)? {
            guard case .string(let code)? = body?["error"]?["code"] else { return nil }
            if case .string(let field)? = body?["error"]?["field"] { return (code, field) }
            return (code, nil)
        }
    }

    func request(_ name: String, _ method: HTTPMethod, _ target: String, body: String = "",
                 headers: HTTPHeaders = HTTPHeaders()) throws -> Reply {
        let client = try HTTPClient(url: url(name))
        defer { client.shutdown() }
        var h = headers
        if !body.isEmpty { h.set("Content-Type", "application/json") }
        let r = try client.send(method, target, headers: h, body: Array(body.utf8))
        return Reply(status: r.status, body: try? JSONParser.parse(r.bodyBytes), location: r.headers["Location"])
    }

    func get(_ name: String, _ target: String) throws -> Reply { try request(name, .GET, target) }
    func post(_ name: String, _ target: String, _ body: String) throws -> Reply { try request(name, .POST, target, body: body) }
    func delete(_ name: String, _ target: String) throws -> Reply { try request(name, .DELETE, target) }

    /// Submits a job with `key` as its Idempotency-Key, trying every running master (the
    /// preferred one first) and retrying for up to 10 s; returns the job id once acknowledged.
    func submit(_ key: String, avoiding: Set<String> = [], preferring: String? = nil) throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let candidates = processes.filter { $0.value.process.isRunning && !avoiding.contains($0.key) }.keys.sorted()
            for name in ([preferring].compactMap { $0 } + candidates) where candidates.contains(name) {
                guard let r = try? request(name, .POST, "/v1/jobs", body: Self.spec, headers: ["Idempotency-Key": key]) else { continue }
                if r.status == 201, case .string(let id)? = r.body?["id"] { return id }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw TestFailure("no master acknowledged job \(key) within 10 s")
    }

    // MARK: The group's view

    struct View {
        var leader: String?
        var term: Int
        var voters: [String]
        var learners: [String]
        var peerAddresses: [String: String]
    }

    func clusterView(_ name: String) throws -> View {
        let body = try get(name, "/v1/cluster").body
        var view = View(leader: nil, term: 0, voters: [], learners: [], peerAddresses: [:])
        if case .string(let l)? = body?["leader"] { view.leader = l }
        if case .int(let t)? = body?["term"] { view.term = Int(t) }
        if case .array(let members)? = body?["members"] {
            for m in members {
                guard case .string(let id)? = m["id"] else { continue }
                if m["role"] == .string("learner") { view.learners.append(id) } else { view.voters.append(id) }
                if case .string(let p)? = m["peerAddress"] { view.peerAddresses[id] = p }
            }
        }
        view.voters.sort()
        return view
    }

    /// The leader that a running master (not excluded) says it is, confirmed by that master
    /// itself; polls every 10 ms for at most 10 s.
    func leader(excluding: Set<String> = []) async throws -> String {
        try await poll("a leader outside \(excluding.sorted())") {
            for name in processes.keys.sorted() where processes[name]!.process.isRunning && !excluding.contains(name) {
                guard let view = try? clusterView(name), let l = view.leader, !excluding.contains(l),
                      processes[l]?.process.isRunning == true, (try? clusterView(l))?.leader == l else { continue }
                return l
            }
            return nil
        }
    }
}

/// Polls `body` every 10 ms until it returns a value, for at most `limit`.
func poll<T>(_ what: String, limit: Duration = .seconds(10), _ body: () throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let value = try body() { return value }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("timed out waiting for \(what)")
}

/// Polls `condition` every 10 ms until it holds, for at most `limit`.
func eventually(_ what: String, limit: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
    _ = try await poll(what, limit: limit) { try condition() ? true : nil }
}

/// A loopback TCP port that was free a moment ago.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs `fuller-master ARGS` (a client verb) and returns its exit status and output.
func runCLI(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: MasterProcess.binary)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = Mutex(Data())
    pipe.fileHandleForReading.readabilityHandler = { h in
        let chunk = h.availableData
        output.withLock { $0.append(chunk) }
    }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    pipe.fileHandleForReading.readabilityHandler = nil
    let rest = pipe.fileHandleForReading.readDataToEndOfFile()
    return (process.terminationStatus, String(decoding: output.withLock { $0 } + rest, as: UTF8.self))
}

/// Work on a thread of its own whose result a test awaits (bounded by `limit`).
final class BackgroundWork<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            let r = Result { try body() }
            result.withLock { $0 = r }
        }
        thread.start()
    }

    func value(limit: Duration = .seconds(30)) async throws -> T {
        try await poll("background work", limit: limit) { result.withLock { $0 } }.get()
    }
}

extension Thread {
    /// `BackgroundWork` running `body`.
    static func detachedResult<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> BackgroundWork<T> {
        BackgroundWork(body)
    }
}
