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

    init(_ c: Configuration, store: StoreHandle, logger: Logger, health: StorageHealth,
         onApplied: @escaping @Sendable (UInt64, Command, CommandResult) -> Void) throws {
        let directory = PeerDirectory(selfName: c.name, configured: c.members, store: store, logger: logger)
        self.directory = directory
        selfID = Self.nodeID(c.name)
        selfName = c.name
        let box = Box()
        self.box = box
        box.apis.withLock { $0[Self.nodeID(c.name)] = c.apiAddress }
        transport = try PeerTransport(selfId: c.name, apiAddress: c.apiAddress, peerURLs: [:], token: c.peerToken) { from, api, frames in
            directory.noteName(from)
            if let api, !api.isEmpty { box.apis.withLock { $0[Self.nodeID(from)] = api } }
            box.replicator.withLock { $0 }?.receive(frames)
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
            leaderAPI: { id in box.apis.withLock { $0[id] } },
            onApplied: { index, command, result in
                if case .master = result { directory.sync() }
                onApplied(index, command, result)
            },
            onRestored: { directory.sync() })
        let replicator = self.replicator
        box.replicator.withLock { $0 = replicator }
        // The store now holds what the latest snapshot recorded; entries replayed later sync again.
        directory.sync()
        var router = Router()
        transport.register(on: &router)
        var http = HTTPServer.Configuration(host: c.peerHost, port: c.peerPort)
        http.maxBodyBytes = 8 << 20   // batches and snapshot chunks are at most 4 MiB each
        http.maxConnections = 256
        // A refused peer is most likely a master with the wrong --peer-token: say so, at most every 10 s.
        let lastWarning = Mutex<ContinuousClock.Instant?>(nil)
        let gate = AuthGate(router: router, policy: MasterAccess.peer, authenticator: c.authenticator, onRefused: { failure in
            let now = ContinuousClock.now
            let due = lastWarning.withLock { last in
                guard last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
                last = now
                return true
            }
            if due { logger.warn("refused a peer request; do all masters share a peer token?", ["reason": .string("\(failure)")]) }
        })
        peerServer = HTTPServer(configuration: http, handler: gate)
        try peerServer.start()
    }

    /// State the transport's callback shares with this object, which it cannot capture while
    /// `init` is still running: the replicator (set once built) and the members' API addresses.
    private final class Box: Sendable {
        let replicator = Mutex<RaftReplicator?>(nil)
        let apis = Mutex<[NodeID: String]>([:])
    }

    /// The API address of `id`, if it has sent us anything (or is this master).
    func apiAddress(of id: NodeID) -> String? { box.apis.withLock { $0[id] } }

    /// This master's client API address, once the API listens (its port may have been 0).
    func setAPIAddress(_ address: String) {
        box.apis.withLock { $0[selfID] = address }
        transport.apiAddress = address
    }

    /// A member's name, if this master has heard of it.
    func name(of id: NodeID) -> String? { directory.name(of: id) }

    func stop() async {
        replicator.stop()
        transport.stop()
        await peerServer.shutdown(grace: .seconds(1))
    }

    /// A stable node id from a member name (FNV-1a, never 0).
    static func nodeID(_ name: String) -> NodeID {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash == 0 ? 1 : hash
    }
}
