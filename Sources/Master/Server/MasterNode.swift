import Foundation
import JobStore
import Scheduler
import Model
import Shared
import Storage

/// One master process: the durable store, the API server and the pieces around them.
///
/// Start-up order matters: the store is recovered (snapshot, then the WAL after it) before the
/// API listens, so `/readyz` and every read reflect everything that was acknowledged before.
final class MasterNode: Sendable {
    struct Configuration: Sendable {
        var id = "m1"
        var dataDirectory: String
        var apiHost = "127.0.0.1"
        var apiPort = 4700
        var fsync = true
        var snapshotEveryEntries: UInt64 = 50_000
        var heartbeatIntervalMilliseconds = 5_000
        var store = StoreLimits()
        var http = HTTPServer.Configuration()
        var logLevel = LogLevel.info
        /// Set for a replicated group of masters; nil runs one master with its own log.
        var cluster: RaftCluster.Configuration?
        /// The tokens callers must present (`--token-file`); nil leaves the API open.
        var authenticator: Authenticator?
        /// The API address other masters send clients to (`--advertise-api`, `HOST:PORT`); nil
        /// derives it from `--api` (`0.0.0.0` as `127.0.0.1`).
        var advertisedAPI: String?
        /// What submitted jobs may ask for (`--allow-privileged`, `--allow-host-mounts`, `--allow-docker-socket`).
        var jobPolicy = JobPolicy()
    }

    /// How writes become durable: this master's own group-commit log, or Raft.
    enum Replication: Sendable {
        case local(LocalReplicator)
        case raft(RaftCluster)

        var replicator: any Replicator {
            switch self {
            case .local(let r): r
            case .raft(let c): c.replicator
            }
        }
    }

    let configuration: Configuration
    let store: StoreHandle
    let metrics: MasterMetrics
    let events: EventLog
    let server: HTTPServer
    let logger: Logger
    /// Every route served, as `METHOD /pattern`.
    let routes: [String]
    let registry: AgentRegistry
    let placement: PlacementLoop
    let replication: Replication
    /// Membership changes and leadership handover; nil for a single master.
    let membership: MembershipChanges?

    /// The port the API listens on (useful with port 0).
    var apiPort: Int { server.port }

    static func start(_ configuration: Configuration) throws -> MasterNode {
        let logger = Logger(component: "master", minimumLevel: configuration.logLevel).with(["node": .string(configuration.id)])
        let store = StoreHandle(JobStore(limits: configuration.store))
        let metrics = MasterMetrics(store: store)
        let hooks = ApplyHooks()
        let replication: Replication
        if let cluster = configuration.cluster {
            replication = .raft(try RaftCluster(cluster, store: store, logger: logger, onApplied: hooks.run))
        } else {
            let recovered = try Recovery.open(dataDirectory: configuration.dataDirectory, fsync: configuration.fsync,
                                              limits: configuration.store, logger: logger, onBatch: { metrics.observeBatch($0) })
            store.replace(with: recovered.store)
            let log = recovered.log
            let snapshotter = Snapshotter(lastSnapshotIndex: recovered.snapshotIndex, everyEntries: configuration.snapshotEveryEntries,
                                          store: store, snapshots: recovered.snapshots, logger: logger,
                                          truncateLog: { index in
                                              do { try log.truncatePrefix(through: index) } catch {
                                                  logger.error("WAL truncation failed", ["error": .string("\(error)")])
                                              }
                                          })
            replication = .local(LocalReplicator(log: log, store: store, snapshotter: snapshotter, onApplied: hooks.run))
        }
        return try MasterNode(configuration, replication, hooks, store, metrics, logger)
    }

    private init(_ configuration: Configuration, _ replication: Replication, _ hooks: ApplyHooks, _ store: StoreHandle,
                 _ metrics: MasterMetrics, _ logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.store = store
        self.metrics = metrics
        self.replication = replication
        let replicator = replication.replicator
        let events = EventLog(lastIndex: store.read { $0.appliedIndex })
        self.events = events
        let nowMs: @Sendable () -> Int64 = { Timestamp.now().millisecondsSinceEpoch }
        let interval = configuration.heartbeatIntervalMilliseconds
        let registry = AgentRegistry(heartbeatIntervalMilliseconds: interval, versionBase: UInt64(nowMs()) << 16,
                                     buildResponse: { agentId, version, drain in
                                         store.read { AgentResponses.build(agentId: agentId, version: version, drain: drain,
                                                                           store: $0, intervalMilliseconds: interval) }
                                     })
        self.registry = registry
        let cluster: RaftCluster? = if case .raft(let c) = replication { c } else { nil }
        membership = cluster.map { MembershipChanges(cluster: $0) }
        let leadership = Leadership(cluster: cluster, selfName: configuration.id)
        let placement = PlacementLoop(store: store, registry: registry, replicator: replicator, scheduler: FirstFitScheduler(),
                                      nowMs: nowMs, logger: logger, agentSilentAfterMs: Int64(3 * interval),
                                      isLeader: { leadership.isLeader })
        self.placement = placement
        hooks.set { index, command, result in
            events.append(index: index, command: command, result: result)
            let reaction = ApplyHooks.reaction(to: command, result: result, store: store)
            if !reaction.agents.isEmpty { registry.notify(reaction.agents) }
            if let reason = reaction.schedule { placement.trigger(reason) }
        }
        var router = Router()
        router.observer = { o in
            metrics.observeRequest(method: o.method, route: o.route, status: o.status, seconds: o.durationSeconds)
        }
        JobsAPI(store: store, replicator: replicator, nowMs: nowMs, newJobID: { ID.random() }, policy: configuration.jobPolicy)
            .register(on: &router)
        AgentsAPI(registry: registry, reports: ReportProcessor(store: store, replicator: replicator), placement: placement,
                  store: store, nowMs: nowMs).register(on: &router)
        EventsAPI(events: events).register(on: &router)
        SystemAPI(leadership: leadership, store: store, metrics: metrics).register(on: &router)
        MembersAPI(changes: membership).register(on: &router)
        var http = configuration.http
        http.host = configuration.apiHost
        http.port = configuration.apiPort
        routes = router.routes.map { "\($0.method.rawValue) \($0.pattern)" }
        let gate = MasterAccess.apiGate(router: router, next: LeaderGate(router: router, leadership: leadership),
                                        authenticator: configuration.authenticator, metrics: metrics)
        server = try HTTPServer(configuration: http, handler: gate)
        try server.start()
        let apiAddress = configuration.advertisedAPI
            ?? "\(configuration.apiHost == "0.0.0.0" ? "127.0.0.1" : configuration.apiHost):\(server.port)"
        leadership.setAPIAddress(apiAddress)
        cluster?.setAPIAddress(apiAddress)
        logger.info("master serving", ["api": .string("\(configuration.apiHost):\(server.port)"),
                                       "appliedIndex": .int(Int64(store.read { $0.appliedIndex }))])
    }

    /// Hands leadership to the most caught-up voter if this master leads (waiting at most the
    /// handover timeout, 2 s, for another leader, so a rolling restart costs no election
    /// timeout; meanwhile this master answers as a follower and redirects), stops accepting,
    /// lets in-flight requests finish (their writes are durable before they answer), then
    /// closes the log.
    func shutdown(grace: Duration = .seconds(5)) async {
        placement.stop()
        registry.answerAllHeld()
        if let membership, let leader = await membership.handOver() {
            logger.info("leadership handed over", ["leader": .string(leader)])
        }
        await server.shutdown(grace: grace)
        switch replication {
        case .local(let r): r.close()
        case .raft(let c): await c.stop()
        }
        logger.info("master stopped")
    }
}
