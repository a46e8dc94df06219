import JobStore
import Raft
import Shared
import Synchronization

/// Who the other masters are and where they listen for peers.
///
/// Two sources: `--peers` (what this master was started with) and the store's
/// `masterAddresses` (what the group recorded when a master was added at run time; it travels
/// in the log and in snapshots, so a master that restarts, or joins from a snapshot, learns it
/// too). A recorded address wins over a configured one. `sync()` makes the transport match.
final class PeerDirectory: Sendable {
    let selfName: String
    /// `--peers`, this master included.
    let configured: [String: String]
    private let store: StoreHandle
    private let logger: Logger
    private let state = Mutex<(names: [NodeID: String], transport: PeerTransport?)>(([:], nil))

    init(selfName: String, configured: [String: String], store: StoreHandle, logger: Logger) {
        self.selfName = selfName
        self.configured = configured
        self.store = store
        self.logger = logger
        let names = Dictionary(configured.keys.map { (RaftCluster.nodeID($0), $0) }, uniquingKeysWith: { a, _ in a })
        precondition(names.count == configured.count, "two member names hash to one node id")
        state.withLock { $0.names = names }
    }

    func attach(_ transport: PeerTransport) { state.withLock { $0.transport = transport } }

    func name(of id: NodeID) -> String? { state.withLock { $0.names[id] } }

    /// A peer introduced itself by name (a message arrived from it).
    func noteName(_ name: String) {
        let id = RaftCluster.nodeID(name)
        state.withLock { s in
            if s.names[id] == nil, s.names.count < PeerTransport.Configuration().peersMax * 4 { s.names[id] = name }
        }
    }

    /// Every known member's peer address (`host:port`) by name, this master's included.
    var addresses: [String: String] {
        configured.merging(store.read { $0.masterAddresses }) { _, recorded in recorded }
    }

    /// Adds, moves and removes transport peers to match `addresses`.
    func sync() {
        let wanted = addresses.filter { $0.key != selfName }
        guard let transport = state.withLock({ s -> PeerTransport? in
            for name in wanted.keys { s.names[RaftCluster.nodeID(name)] = name }
            return s.transport
        }) else { return }
        for name in transport.peerURLs.keys where wanted[name] == nil { transport.removePeer(name) }
        for (name, address) in wanted {
            do { try transport.setPeer(name, url: "http://\(address)") } catch {
                logger.warn("cannot add a peer", ["peer": .string(name), "error": .string("\(error)")])
            }
        }
    }
}
