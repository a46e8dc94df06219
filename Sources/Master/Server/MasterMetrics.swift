import JobStore
import Model
import Raft
import Shared
import Storage

/// The master's metrics. Every name is listed in `docs/metrics.md` (a test keeps the two in step).
final class MasterMetrics: Sendable {
    let registry = MetricsRegistry()
    let requests: CounterFamily
    let requestSeconds: HistogramFamily
    let fsyncSeconds: Histogram
    let fsyncBatchRecords: Histogram
    let walRecords: Counter
    /// One placement decision: reading the store and computing the plan (not committing it).
    let schedulerIterationSeconds: Histogram
    let authRefusals: CounterFamily
    /// Peer messages refused or dropped as invalid, and committed entries skipped, by reason.
    let raftDropped: CounterFamily
    /// One step of the Raft loop, during which the node sends and answers nothing.
    let raftLoopStepSeconds: Histogram

    init(store: StoreHandle) {
        requests = registry.counter("fuller_http_requests_total", help: "HTTP requests answered, by route, method and status.",
                                    labels: ["route", "method", "status"])
        requestSeconds = registry.histogram("fuller_http_request_duration_seconds",
                                            help: "Time from a request's last byte to its response, by route, method and status.",
                                            labels: ["route", "method", "status"])
        fsyncSeconds = registry.histogram("fuller_wal_fsync_duration_seconds", help: "Time to write and fsync one WAL batch.")
        fsyncBatchRecords = registry.histogram("fuller_wal_fsync_batch_records", help: "Records made durable by one fsync.",
                                               buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096])
        walRecords = registry.counter("fuller_wal_records_total", help: "Records appended to the WAL.")
        schedulerIterationSeconds = registry.histogram("fuller_scheduler_iteration_seconds",
                                                       help: "Time of one placement decision (store read plus scheduling).")
        authRefusals = registry.counter("fuller_http_auth_refusals_total",
                                        help: "Requests refused before their route: 401 (missing, malformed, unknown, expired) or 403 (forbidden).",
                                        labels: ["reason"])
        raftDropped = registry.counter("fuller_raft_dropped_total",
                                       help: "Peer messages refused or dropped as invalid, and committed entries skipped as undecodable, by reason.",
                                       labels: ["reason"])
        raftLoopStepSeconds = registry.histogram("fuller_raft_loop_blocked_seconds",
                                                 help: "Time of one Raft loop step (persist, send, apply), during which the node sends and answers nothing.",
                                                 buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10])
        registry.gaugeFunction("fuller_jobs", help: "Jobs in the store by state.", labels: ["state"]) {
            let counts = store.read { $0.jobCountsByState }
            return JobState.allCases.map { (labelValues: [$0.rawValue], value: Double(counts[$0] ?? 0)) }
        }
        registry.gaugeFunction("fuller_tasks", help: "Tasks in the store by state.", labels: ["state"]) {
            let counts = store.read { $0.taskCountsByState }
            return TaskState.allCases.map { (labelValues: [$0.rawValue], value: Double(counts[$0] ?? 0)) }
        }
        registry.gaugeFunction("fuller_store_applied_index", help: "Log index of the last command applied to the store.") {
            [(labelValues: [], value: Double(store.read { $0.appliedIndex }))]
        }
    }

    /// 1 once this master's storage failed (it then serves nothing but `/healthz` and `/metrics`).
    func observeStorage(_ health: StorageHealth) {
        registry.gaugeFunction("fuller_storage_failed", help: "1 once a write or fsync failed and this master stopped serving; 0 before.") {
            [(labelValues: [], value: health.failed == nil ? 0 : 1)]
        }
    }

    /// Per agent, the seconds since its last heartbeat (or registration), as this master saw it.
    func observeAgents(_ registry: AgentRegistry, nowMs: @escaping @Sendable () -> Int64) {
        self.registry.gaugeFunction("fuller_agent_heartbeat_age_seconds",
                                    help: "Seconds since each agent's last heartbeat reached this master.", labels: ["agent"]) {
            let now = nowMs()
            return registry.entries().map { (labelValues: [$0.registration.id], value: Double(now - $0.lastHeartbeatMs) / 1_000) }
        }
        self.registry.gaugeFunction("fuller_agents", help: "Registered agents (healthy or not) known to this master.") {
            [(labelValues: [], value: Double(registry.entries().count))]
        }
    }

    /// Raft's view from this master: term, commit and apply progress, and (on the leader) how far
    /// each member's log is behind. `status` is nil for a single master without Raft: then the
    /// names exist without samples.
    func observeRaft(_ status: @escaping @Sendable () -> (RaftReplicator.Status, @Sendable (NodeID) -> String?)?) {
        func gauge(_ name: String, _ help: String, _ value: @escaping @Sendable (RaftReplicator.Status) -> Double) {
            registry.gaugeFunction(name, help: help) {
                status().map { [(labelValues: [], value: value($0.0))] } ?? []
            }
        }
        gauge("fuller_raft_term", "The current Raft term.") { Double($0.term) }
        gauge("fuller_raft_commit_index", "Index of the last log entry known committed.") { Double($0.commit) }
        gauge("fuller_raft_applied_index", "Index of the last log entry applied to the store.") { Double($0.applied) }
        gauge("fuller_raft_apply_lag_entries", "Committed entries not yet applied (commit minus applied).") {
            Double($0.commit &- min($0.commit, $0.applied))
        }
        gauge("fuller_raft_is_leader", "1 on the leader, 0 elsewhere.") { $0.role == .leader ? 1 : 0 }
        registry.gaugeFunction("fuller_raft_member_lag_entries",
                               help: "Leader only: entries each member's log is behind the leader's.", labels: ["member"]) {
            guard let (s, name) = status(), s.role == .leader else { return [] }
            return s.matchIndexes.map { (labelValues: [name($0.key) ?? String($0.key)], value: Double(s.lastIndex &- min(s.lastIndex, $0.value))) }
        }
    }

    func observeRequest(method: HTTPMethod, route: String, status: Int, seconds: Double) {
        let statusText = String(status)
        requests.labels(route, method.rawValue, statusText).increment()
        requestSeconds.labels(route, method.rawValue, statusText).observe(seconds)
    }

    func observeRefusal(_ failure: Authenticator.Failure) {
        let reason = switch failure {
        case .missing: "missing"
        case .malformed: "malformed"
        case .unknown: "unknown"
        case .expired: "expired"
        case .forbidden: "forbidden"
        }
        authRefusals.labels(reason).increment()
    }

    func observeBatch(_ stats: BatchStats) {
        fsyncSeconds.observe(stats.fsyncSeconds)
        fsyncBatchRecords.observe(Double(stats.records))
        walRecords.increment(by: UInt64(stats.records))
    }
}
