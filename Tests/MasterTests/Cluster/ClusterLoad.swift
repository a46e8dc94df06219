import Foundation
import Synchronization
import TestSupport
@testable import Model
@testable import Shared

/// Writers that submit jobs continuously while a test breaks the group, and what they saw: each
/// acknowledged key with its job id, the keys whose outcome stayed unknown, and any answer that
/// no retry could explain (a 4xx, two ids for one key).
final class ClusterLoad: Sendable {
    let acknowledged = Mutex<[String: String]>([:])
    let unknown = Mutex<Set<String>>([])
    let failures = Mutex<[String]>([])
    private let stopped = Atomic<Bool>(false)
    let client: ClusterClient
    let prefix: String

    init(client: ClusterClient, prefix: String) {
        self.client = client
        self.prefix = prefix
    }

    var acknowledgedCount: Int { acknowledged.withLock { $0.count } }

    /// Runs `writers` writers while `scenario` runs, then stops them and waits for the
    /// submissions in flight to finish (each is bounded by the client's deadline).
    func run(writers: Int, pause: Duration = .milliseconds(30), _ scenario: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask { await self.write(w, pause: pause) }
            }
            do { try await scenario() } catch {
                stopped.store(true, ordering: .relaxed)
                group.cancelAll()
                throw error
            }
            stopped.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
    }

    private func write(_ writer: Int, pause: Duration) async {
        var i = 0
        while !stopped.load(ordering: .relaxed) && !Task.isCancelled {
            let key = "\(prefix)-w\(writer)-\(i)"
            i += 1
            record(key, await client.submit(key: key, first: writer + i))
            try? await Task.sleep(for: pause)
        }
    }

    func record(_ key: String, _ outcome: ClusterClient.Outcome) {
        switch outcome {
        case .acknowledged(let id):
            let previous = acknowledged.withLock { $0.updateValue(id, forKey: key) }
            if let previous, previous != id { failures.withLock { $0.append("\(key): acknowledged as \(previous) and \(id)") } }
        case .rejected(let status, let body):
            failures.withLock { $0.append("\(key): \(status) \(body.prefix(200))") }
        case .gaveUp:
            _ = unknown.withLock { $0.insert(key) }
        }
    }

    /// Waits until `more` writes beyond `from` are acknowledged.
    func waitForAcknowledged(_ more: Int, from: Int? = nil, within limit: Duration = .seconds(20),
                             _ what: String, logs: @autoclosure () -> String) async throws {
        let target = (from ?? acknowledgedCount) + more
        let deadline = ContinuousClock.now + limit
        while acknowledgedCount < target {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("\(what): \(acknowledgedCount)/\(target) writes acknowledged after \(limit); "
                                  + "failures \(failures.withLock { $0.prefix(3) })\n\(logs())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The end-of-run checks every cluster test makes.
enum ClusterChecks {
    /// Waits until every member has applied exactly what the leader committed and their stores
    /// list the same jobs, item for item (`GET /v1/jobs?stale=true` on each). Returns that list.
    ///
    /// A listing only counts when the member's applied index is the same before and after it,
    /// so it shows the store at exactly that index.
    static func identicalStores(_ cluster: ClusterProcesses, _ client: ClusterClient,
                                within limit: Duration = .seconds(30)) async throws -> [JSONValue] {
        let addresses = cluster.members.map(\.apiAddress)
        let deadline = ContinuousClock.now + limit
        var last = "no answer"
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let before = await client.views(addresses)
            let views = before.compactMap { $0 }
            guard views.count == addresses.count, let leader = views.first(where: \.isLeader),
                  views.allSatisfy({ $0.appliedIndex == leader.commitIndex && $0.leader == leader.selfName }) else {
                last = "not caught up: \(before)"
                continue
            }
            var lists: [[JSONValue]] = []
            for a in addresses { lists.append(try await client.jobs(a)) }
            let after = await client.views(addresses)
            guard after.map({ $0?.appliedIndex }) == before.map({ $0?.appliedIndex }) else {
                last = "applied moved during the listing"
                continue
            }
            if let mismatch = difference(lists, names: cluster.members.map(\.name)) {
                last = mismatch
                continue
            }
            return lists[0]
        }
        throw TestFailure("stores did not converge in \(limit): \(last)\n\(cluster.logs())")
    }

    /// nil when every list is the same; otherwise what differs first.
    static func difference(_ lists: [[JSONValue]], names: [String]) -> String? {
        let reference = Dictionary(lists[0].map { (id(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
        for (i, list) in lists.enumerated().dropFirst() where list != lists[0] {
            let other = Dictionary(list.map { (id(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
            let onlyHere = Set(other.keys).subtracting(reference.keys).sorted().prefix(3)
            let missing = Set(reference.keys).subtracting(other.keys).sorted().prefix(3)
            let changed = other.filter { reference[$0.key] != nil && reference[$0.key] != $0.value }.keys.sorted().prefix(3)
            return "\(names[i]) differs from \(names[0]) (\(list.count) vs \(lists[0].count) jobs): "
                + "only on \(names[i]) \(Array(onlyHere)), missing \(Array(missing)), different \(Array(changed))"
        }
        return nil
    }

    static func id(of job: JSONValue) -> String {
        if case .string(let id)? = job["id"] { return id }
        return ""
    }

    /// Every acknowledged key is in `jobs` with the id it was acknowledged with, no key appears
    /// twice, and re-submitting each acknowledged key gives back the same job.
    static func acknowledgedWritesKept(_ load: ClusterLoad, jobs: [JSONValue]) async throws -> [String] {
        var problems: [String] = []
        var byKey: [String: String] = [:]
        for job in jobs {
            guard case .string(let key)? = job["idempotencyKey"] else { continue }
            if let other = byKey.updateValue(id(of: job), forKey: key) { problems.append("key \(key) on two jobs: \(other), \(id(of: job))") }
        }
        let acknowledged = load.acknowledged.withLock { $0 }
        for (key, id) in acknowledged.sorted(by: { $0.key < $1.key }) where byKey[key] != id {
            problems.append("acknowledged \(key) → \(id), store has \(byKey[key] ?? "nothing")")
        }
        problems += await resubmit(Array(acknowledged), load.client)
        return problems
    }

    /// Re-POSTs every key (a few at a time); each must come back as the job it was first.
    private static func resubmit(_ pairs: [(key: String, value: String)], _ client: ClusterClient) async -> [String] {
        let lanes = 8
        return await withTaskGroup(of: [String].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var problems: [String] = []
                    for (key, id) in pairs.enumerated().filter({ $0.offset % lanes == lane }).map(\.element) {
                        let again = await client.submit(key: key, first: lane)
                        if again != .acknowledged(jobID: id) { problems.append("re-POST \(key): \(again), first \(id)") }
                    }
                    return problems
                }
            }
            var all: [String] = []
            for await p in group { all += p }
            return all
        }
    }
}
