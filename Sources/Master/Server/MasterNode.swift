import Foundation
import JobStore
import Scheduler
import Model
import Reconciler
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
        /// Autoscaling rules and provider (`--autoscale-rules`); nil turns autoscaling off.
        var autoscaler: AutoscalerLoop.Settings?
        var reconciler = ReconcilerConfiguration()
        var reconcileInterval: Duration = .seconds(2)
        /// The longest a heartbeat is held; bounds how stale an idle agent's last report is.
        var agentLongPollMax: Duration = .seconds(30)
        /// Fitness, good-enough threshold, capacity-group reservations (`--scheduler-*` flags).
        var scheduler = SchedulerConfiguration()
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
    let reconcile: ReconcileLoop
    let replication: Replication
    /// Membership changes and leadership handover; nil for a single master.
    let membership: MembershipChanges?
    /// Leader-only autoscaling; nil without rules.
    let autoscaler: AutoscalerLoop?
    /// Failed once a write or fsync failed: then the API answers 503 `storage_failed`.
    let health: StorageHealth

    /// The port the API listens on (useful with port 0).
    var apiPort: Int { server.port }

    static func start(_ configuration: Configuration) throws -> MasterNode {
        let logger = Logger(component: "master", minimumLevel: configuration.logLevel).with(["node": .string(configuration.id)])
        let store = StoreHandle(JobStore(limits: configuration.store))
        let metrics = MasterMetrics(store: store)
        let hooks = ApplyHooks()
        let health = StorageHealth(logger: logger, dataDirectory: configuration.cluster?.dataDirectory ?? configuration.dataDirectory)
        let replication: Replication
        if let cluster = configuration.cluster {
            replication = .raft(try RaftCluster(cluster, store: store, logger: logger, health: health, onApplied: hooks.run,
                                                onDropped: { metrics.raftDropped.labels($0).increment() },
                                                onStep: { metrics.raftLoopStepSeconds.observe($0) }))
        } else {
            let recovered = try Recovery.open(dataDirectory: configuration.dataDirectory, fsync: configuration.fsync,
                                              limits: configuration.store, logger: logger, onBatch: { metrics.observeBatch($0) })
            store.replace(with: recovered.store)
            let log = recovered.log
            let snapshotter = Snapshotter(lastSnapshotIndex: recovered.snapshotIndex, everyEntries: configuration.snapshotEveryEntries,
                                          store: store, snapshots: recovered.snapshots, logger: logger,
                                          truncateLog: { index in
                                              do { try log.truncatePrefix(through: index) } catch { health.fail(error) }
                                          },
                                          onFailure: { health.fail($0) })
            replication = .local(LocalReplicator(log: log, store: store, snapshotter: snapshotter, health: health, onApplied: hooks.run))
        }
        return try MasterNode(configuration, replication, hooks, store, metrics, logger, health)
    }

    private init(_ configuration: Configuration, _ replication: Replication, _ hooks: ApplyHooks, _ store: StoreHandle,
                 _ metrics: MasterMetrics, _ logger: Logger, _ health: StorageHealth) throws {
        self.configuration = configuration
        self.health = health
        self.logger = logger
        self.store = store
        self.metrics = metrics
        self.replication = replication
        let replicator = replication.replicator
        let events = EventLog(lastIndex: store.read { $0.appliedIndex })
        self.events = events
        let nowMs: @Sendable () -> Int64 = { Timestamp.now().millisecondsSinceEpoch }
        let interval = configuration.heartbeatIntervalMilliseconds
        let reconcile = ReconcileLoop(configuration: configuration.reconciler, interval: configuration.reconcileInterval,
                                      store: store, replicator: replicator, metrics: metrics.registry, logger: logger, nowMs: nowMs)
        self.reconcile = reconcile
        let registry = AgentRegistry(longPollMaxMilliseconds: Int(configuration.agentLongPollMax.wholeMilliseconds),
                                     heartbeatIntervalMilliseconds: interval, versionBase: UInt64(nowMs()) << 16,
                                     buildResponse: { agentId, version, drain in
                                         var response = store.read { AgentResponses.build(agentId: agentId, version: version, drain: drain,
                                                                                          store: $0, intervalMilliseconds: interval) }
                                         response.kills += reconcile.kills(for: agentId)
                                         return response
                                     })
        self.registry = registry
        let cluster: RaftCluster? = if case .raft(let c) = replication { c } else { nil }
        metrics.observeAgents(registry, nowMs: nowMs)
        metrics.observeStorage(health)
        // Agents long-polling this master move to another one now, not when their wait ends.
        health.onFailure { DispatchQueue.global().async { registry.answerAllHeld() } }
        metrics.observeRaft { cluster.map { c in (c.replicator.status, { c.name(of: $0) }) } }
        membership = cluster.map { MembershipChanges(cluster: $0) }
        let leadership = Leadership(cluster: cluster, selfName: configuration.id, health: health)
        reconcile.start(registry: registry, isActive: { leadership.isLeader && leadership.isReady })
        // An agent whose tasks the reconciler would mark Disconnected takes no new ones.
        let silentAfterMs = min(Int64(3 * interval), configuration.reconciler.agentDisconnectedAfter.wholeMilliseconds)
        let placement = PlacementLoop(store: store, registry: registry, replicator: replicator,
                                      configuration: configuration.scheduler,
                                      metrics: SchedulerMetrics(registry: metrics.registry),
                                      nowMs: nowMs, logger: logger, agentSilentAfterMs: silentAfterMs,
                                      isLeader: { leadership.isLeader }, policy: configuration.jobPolicy,
                                      onIteration: { metrics.schedulerIterationSeconds.observe($0) })
        self.placement = placement
        let autoscaler = configuration.autoscaler.map { settings in
            AutoscalerLoop(settings: settings, store: store, registry: registry, isLeader: { leadership.isLeader }, nowMs: nowMs,
                           silentAfterMs: silentAfterMs, masterURL: { leadership.leaderAPI.map { "http://\($0)" } ?? "" },
                           onCapacity: { placement.trigger(.capacity) }, metrics: metrics.registry, logger: logger)
        }
        self.autoscaler = autoscaler
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
        JobsAPI(store: store, replicator: replicator, nowMs: nowMs, newJobID: { ID.random() },
                pendingReasons: { placement.unplacedReasons($0) }, policy: configuration.jobPolicy,
                principal: { [authenticator = configuration.authenticator] in authenticator?.principal($0.headers["Authorization"]) })
            .register(on: &router)
        AgentsAPI(registry: registry, reports: ReportProcessor(store: store, replicator: replicator), placement: placement,
                  store: store, nowMs: nowMs, reconcile: reconcile).register(on: &router)
        EventsAPI(events: events).register(on: &router)
        SystemAPI(leadership: leadership, store: store, metrics: metrics).register(on: &router)
        MembersAPI(changes: membership).register(on: &router)
        AutoscalerAPI(autoscaler: autoscaler).register(on: &router)
        var http = configuration.http
        http.host = configuration.apiHost
        http.port = configuration.apiPort
        routes = router.routes.map { "\($0.method.rawValue) \($0.pattern)" }
        // Tokens first, then (once storage failed) 503 for everything, then leader routing.
        let gate = MasterAccess.apiGate(router: router,
                                        next: StorageHealthGate(health: health, next: LeaderGate(router: router, leadership: leadership)),
                                        authenticator: configuration.authenticator, metrics: metrics)
        server = try HTTPServer(configuration: http, handler: gate)
        try server.start()
        let apiAddress = configuration.advertisedAPI
            ?? "\(configuration.apiHost == "0.0.0.0" ? "127.0.0.1" : configuration.apiHost):\(server.port)"
        leadership.setAPIAddress(apiAddress)
        cluster?.setAPIAddress(apiAddress)
        autoscaler?.start()
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
        autoscaler?.stop()
        reconcile.stop()
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
