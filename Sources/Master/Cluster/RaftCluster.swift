import Foundation
import JobStore
import Model
import Raft
import Shared
import Synchronization

/// The pieces that make a master one member of a replicated group: Raft storage, the
/// replicator, the peer transport and the peer port's HTTP server.
final class RaftCluster: Sendable {
    struct Configuration: Sendable {
        /// This master's name (`--id`).
        var name: String
        /// Every member's peer address (`--peers`), this one's included.
        var members: [String: String]
        var peerHost: String
        var peerPort: Int
        /// This master's client API address, sent to peers for redirects.
        var apiAddress: String
        var dataDirectory: String
        var fsync = true
        var snapshotEveryEntries: UInt64 = 50_000
        /// Log kept before each snapshot so a follower a little behind catches up from entries.
        var catchUpMargin = DurableRaftStorage.CatchUpMargin()
        /// Join a running group (`--join`) instead of bootstrapping one: start with no voters and
        /// wait for the leader to add this master (`POST /v1/cluster/members`).
        var join = false
        var tick: Duration = .milliseconds(100)
        /// The tokens the peer port accepts (role `peer`); nil leaves it open.
        var authenticator: Authenticator?
        /// The `peer` token this master presents to the other masters (`--peer-token`).
        var peerToken: String?
    }

    let replicator: RaftReplicator
    let transport: PeerTransport
    let peerServer: HTTPServer
    let selfID: NodeID
    let selfName: String
    /// Member names and peer addresses, from `--peers` and the store.
    let directory: PeerDirectory
    private let box: Box

    /// `onDropped` hears the reason of every peer message refused or dropped as invalid.
    init(_ c: Configuration, store: StoreHandle, logger: Logger, health: StorageHealth,
         onApplied: @escaping @Sendable (UInt64, Command, CommandResult) -> Void,
         onDropped: @escaping @Sendable (String) -> Void = { _ in },
         onStep: @escaping @Sendable (Double) -> Void = { _ in }) throws {
        let directory = PeerDirectory(selfName: c.name, configured: c.members, store: store, logger: logger)
        self.directory = directory
        selfID = Self.nodeID(c.name)
        selfName = c.name
        let box = Box()
        self.box = box
        box.apis.withLock { $0[Self.nodeID(c.name)] = c.apiAddress }
        box.leaderAPIs.withLock { $0[Self.nodeID(c.name)] = c.apiAddress }
        let admits: @Sendable (String) -> Bool = { name in
            let member = Self.isMember(name, directory: directory, replicator: box.replicator.withLock { $0 })
            if !member { onDropped("unknownSender") }
            return member
        }
        transport = try PeerTransport(selfId: c.name, apiAddress: c.apiAddress, peerURLs: [:], token: c.peerToken,
                                      admits: admits) { from, api, frames in
            directory.noteName(from)
            box.deliver(frames, from: Self.nodeID(from), api: api)
        }
        directory.attach(transport)
        try FileManager.default.createDirectory(atPath: c.dataDirectory, withIntermediateDirectories: true)
        let storage = try DurableRaftStorage(directory: c.dataDirectory, fsync: c.fsync, margin: c.catchUpMargin)
        let voters = c.join ? [] : c.members.keys.map(Self.nodeID).sorted()
        var raft = RaftConfig(id: selfID, initialVoters: voters, seed: UInt64.random(in: 1...UInt64.max))
        raft.heartbeatTicks = 1
        raft.electionTicksMin = 5
        raft.electionTicksMax = 10
        let transport = self.transport
        replicator = try RaftReplicator(
            configuration: RaftReplicator.Configuration(raft: raft, tick: c.tick, snapshotEveryEntries: c.snapshotEveryEntries),
            storage: storage, store: store, logger: logger, health: health,
            send: { m in if let to = directory.name(of: m.to) { transport.send(to: to, RaftWire.encode(m)) } },
            leaderAPI: { id in box.api(of: id) },
            onApplied: { index, command, result in
                if case .master = result { directory.sync() }
                onApplied(index, command, result)
            },
            onRestored: { directory.sync() }, onDropped: onDropped, onStep: onStep)
        let replicator = self.replicator
        box.replicator.withLock { $0 = replicator }
        // The store now holds what the latest snapshot recorded; entries replayed later sync again.
        directory.sync()
        peerServer = Self.peerServer(c, transport: transport, directory: directory, logger: logger)
        try peerServer.start()
    }

    /// The peer port: the transport's routes behind the token gate, which also binds a
    /// member-named token to its member.
    private static func peerServer(_ c: Configuration, transport: PeerTransport, directory: PeerDirectory,
                                   logger: Logger) -> HTTPServer {
        var router = Router()
        transport.register(on: &router)
        var http = HTTPServer.Configuration(host: c.peerHost, port: c.peerPort)
        http.maxBodyBytes = 8 << 20   // batches and snapshot chunks are at most 4 MiB each
        http.maxConnections = 256
        // A refused peer is most likely a master with the wrong --peer-token: say so, at most every 10 s.
        let lastWarning = Mutex<ContinuousClock.Instant?>(nil)
        let gate = AuthGate(router: router, policy: MasterAccess.peer, authenticator: c.authenticator,
                            check: { principal, request, _ in bindsSender(principal, request, directory: directory) },
                            onRefused: { failure in
            let now = ContinuousClock.now
            let due = lastWarning.withLock { last in
                guard last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
                last = now
                return true
            }
            if due { logger.warn("refused a peer request; do all masters share a peer token?", ["reason": .string("\(failure)")]) }
        })
        return HTTPServer(configuration: http, handler: gate)
    }

    /// State the transport's callback shares with this object, which it cannot capture while
    /// `init` is still running: the replicator (set once built) and the members' API addresses.
    private final class Box: Sendable {
        let replicator = Mutex<RaftReplicator?>(nil)
        /// What each member said its API address is, in any message (shown in `/v1/cluster`).
        let apis = Mutex<[NodeID: String]>([:])
        /// The address each member sent with its own leader messages (redirects use these).
        let leaderAPIs = Mutex<[NodeID: String]>([:])

        func api(of id: NodeID) -> String? { leaderAPIs.withLock { $0[id] } ?? apis.withLock { $0[id] } }

        /// Frames from member `id`, with the API address its request named.
        func deliver(_ frames: [[UInt8]], from id: NodeID, api: String?) {
            let fromLeader = replicator.withLock { $0 }?.receive(frames, from: id) ?? false
            guard let api, RaftCluster.isHostPort(api) else { return }
            apis.withLock { $0[id] = api }
            // Redirects follow this address, so the one they use is learnt only from a member's
            // own leader messages, never from any frame that names an address.
            if fromLeader { leaderAPIs.withLock { $0[id] = api } }
        }
    }

    /// The API address of `id`, if it has sent us anything (or is this master): the one it sent
    /// while leading, if it has led.
    func apiAddress(of id: NodeID) -> String? { box.api(of: id) }

    /// This master's client API address, once the API listens (its port may have been 0).
    func setAPIAddress(_ address: String) {
        box.apis.withLock { $0[selfID] = address }
        box.leaderAPIs.withLock { $0[selfID] = address }
        transport.apiAddress = address
    }

    /// A member's name, if this master has heard of it.
    func name(of id: NodeID) -> String? { directory.name(of: id) }

    func stop() async {
        replicator.stop()
        transport.stop()
        await peerServer.shutdown(grace: .seconds(1))
    }

    /// Whether `name` is a member: listed in `--peers` or recorded in the store, or in the Raft
    /// membership (a master restarted with an old `--peers` knows its voters from the log).
    static func isMember(_ name: String, directory: PeerDirectory, replicator: RaftReplicator?) -> Bool {
        let id = nodeID(name)
        if directory.name(of: id) == name { return true }
        guard let status = replicator?.status else { return false }
        return status.voters.contains(id) || status.learners.contains(id)
    }

    /// A peer token named after a member (`peer m2 TOKEN`) speaks for that member only; a token
    /// the masters share (any other name) for any member.
    static func bindsSender(_ principal: Principal, _ request: HTTPRequest, directory: PeerDirectory) -> APIError? {
        guard directory.name(of: nodeID(principal.name)) == principal.name,
              let from = request.headers[PeerTransport.fromHeader], from != principal.name else { return nil }
        return APIError(.permissionDenied, "the peer token of \(principal.name) may not speak for \(from.prefix(128))",
                        field: PeerTransport.fromHeader)
    }

    /// `HOST:PORT` with a port in 1...65535 and a host of letters, digits, '.', '-', or an IPv6
    /// literal in brackets: nothing a redirect could turn into another scheme or path.
    static func isHostPort(_ text: String) -> Bool {
        guard text.utf8.count <= 260, let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return false }
        let host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            return host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        return !host.isEmpty && host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }
    }

    /// A stable node id from a member name (FNV-1a, never 0).
    static func nodeID(_ name: String) -> NodeID {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash == 0 ? 1 : hash
    }
}
