import Foundation
import Synchronization
import TestSupport
@testable import Model
@testable import Shared

/// What one master's `GET /v1/cluster` says.
struct ClusterView: Sendable, Equatable {
    var address: String
    var selfName: String
    var leader: String?
    /// This master's own role.
    var role: String
    var term: Int64
    var commitIndex: Int64
    var appliedIndex: Int64

    var isLeader: Bool { role == "leader" && leader == selfName }

    init?(address: String, _ json: JSONValue) {
        guard case .string(let me)? = json["self"], case .int(let term)? = json["term"],
              case .int(let commit)? = json["commitIndex"], case .int(let applied)? = json["appliedIndex"],
              case .array(let members)? = json["members"] else { return nil }
        let mine = members.first { $0["id"] == .string(me) }
        guard case .string(let role)? = mine?["role"] else { return nil }
        self.address = address
        selfName = me
        if case .string(let l)? = json["leader"] { leader = l }
        self.role = role
        self.term = term
        commitIndex = commit
        appliedIndex = applied
    }
}

/// A client for a group of masters that behaves as a careful user would: it follows a
/// follower's 307 itself (a bounded number of hops), and retries 503s and broken connections
/// on another master with the same `Idempotency-Key` until it hears 201 or its deadline passes.
final class ClusterClient: Sendable {
    static let spec = Array(#"{"name":"c","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},"batch":{"size":1}}"#.utf8)
    static let redirectHopsMax = 4

    enum Outcome: Sendable, Equatable {
        case acknowledged(jobID: String)
        /// A 4xx or other answer that no retry will change.
        case rejected(status: Int, body: String)
        /// Never acknowledged before the deadline: the write may or may not exist.
        case gaveUp(String)
    }

    /// API addresses (`127.0.0.1:PORT`) of the masters this client starts from.
    let addresses: [String]
    private let clients = Mutex<[String: HTTPClient]>([:])
    /// Where the last write succeeded: the next one starts there, as a client remembers its leader.
    private let lastLeader = Mutex<String?>(nil)

    init(addresses: [String]) {
        self.addresses = addresses
    }

    func shutdown() {
        for c in clients.withLock({ $0.values }) { c.shutdown() }
    }

    /// The pooled client for one address; loopback only.
    func client(_ address: String) throws -> HTTPClient {
        guard address.hasPrefix("127.0.0.1:") else { throw TestFailure("refusing to talk to \(address)") }
        return try clients.withLock { c in
            if let existing = c[address] { return existing }
            var configuration = HTTPClient.Configuration()
            configuration.connectTimeout = .seconds(1)
            configuration.requestTimeout = .seconds(3)
            configuration.idleReadTimeout = .seconds(3)
            let new = try HTTPClient(url: "http://\(address)", configuration: configuration)
            c[address] = new
            return new
        }
    }

    /// POSTs one job under `key`, starting where the last write succeeded, else at
    /// `addresses[first % count]`.
    func submit(key: String, first: Int = 0, within limit: Duration = .seconds(20)) async -> Outcome {
        let deadline = ContinuousClock.now + limit
        var rotation = first
        var target = lastLeader.withLock { $0 } ?? addresses[rotation % addresses.count]
        var delay = Duration.milliseconds(25)
        var hops = 0
        var last = "no attempt"
        while ContinuousClock.now < deadline && !Task.isCancelled {
            do {
                let r = try await client(target).send(.POST, "/v1/jobs", headers: ["Idempotency-Key": key], body: Self.spec,
                                                      timeout: .seconds(3))
                let body = String(decoding: r.bodyBytes, as: UTF8.self)
                switch r.status {
                case 201:
                    guard case .string(let id)? = (try? JSONParser.parse(r.bodyBytes))?["id"] else {
                        return .rejected(status: 201, body: body)
                    }
                    lastLeader.withLock { $0 = target }
                    return .acknowledged(jobID: id)
                case 307 where hops < Self.redirectHopsMax:
                    if let location = r.headers["Location"], let next = Self.address(ofURL: location) {
                        hops += 1
                        target = next
                        continue
                    }
                    return .rejected(status: 307, body: "bad Location: \(r.headers["Location"] ?? "none")")
                case 307, 429, 503:
                    last = "\(target): \(r.status) \(body)"
                default:
                    return .rejected(status: r.status, body: body)
                }
            } catch {
                last = "\(target): \(error)"
            }
            // Try the next master after a pause; the leader may have moved or died.
            hops = 0
            rotation += 1
            target = addresses[rotation % addresses.count]
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(400))
        }
        return .gaveUp(last)
    }

    /// `host:port` of an `http://host:port/...` URL.
    static func address(ofURL url: String) -> String? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        return String(rest.prefix { $0 != "/" })
    }

    /// `GET /v1/cluster` on one master; nil when it does not answer.
    func view(_ address: String) async -> ClusterView? {
        guard let r = try? await client(address).send(.GET, "/v1/cluster", timeout: .seconds(2)), r.status == 200,
              let json = try? JSONParser.parse(r.bodyBytes) else { return nil }
        return ClusterView(address: address, json)
    }

    func views(_ addresses: [String]) async -> [ClusterView?] {
        var result: [ClusterView?] = []
        for a in addresses { result.append(await view(a)) }
        return result
    }

    /// Waits until one of `among` says it leads in a term after `after`, and every other
    /// answering master there agrees; returns its view.
    func waitForLeader(among: [String], after term: Int64 = -1, within limit: Duration = .seconds(20)) async throws -> ClusterView {
        let deadline = ContinuousClock.now + limit
        var seen: [ClusterView?] = []
        while ContinuousClock.now < deadline {
            seen = await views(among)
            let leaders = seen.compactMap { $0 }.filter { $0.isLeader && $0.term > term }
            if let l = leaders.max(by: { $0.term < $1.term }),
               seen.compactMap({ $0 }).allSatisfy({ $0.leader == l.selfName && $0.term == l.term }) {
                return l
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no leader after term \(term) among \(among) in \(limit): \(seen)")
    }

    /// Every job `address` has, paging through `nextCursor`; `stale` reads its own store even on
    /// a follower.
    func jobs(_ address: String, stale: Bool = true) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        for _ in 0..<1_000 {
            var target = "/v1/jobs?limit=1000" + (stale ? "&stale=true" : "")
            if let cursor { target += "&cursor=\(cursor)" }
            let r = try await client(address).send(.GET, target, timeout: .seconds(10))
            guard r.status == 200 else { throw TestFailure("GET \(target) on \(address): \(r.status)") }
            let json = try JSONParser.parse(r.bodyBytes)
            guard case .array(let page)? = json["items"] else { throw TestFailure("no items from \(address)") }
            items += page
            guard case .string(let next)? = json["nextCursor"] else { return items }
            cursor = next
        }
        throw TestFailure("more than 1000 pages of jobs on \(address)")
    }
}
