import Shared
import Synchronization

/// The agent's metrics, served at `/metrics`. Every name is listed in `docs/metrics.md` (a test
/// keeps the two in step). The executor adds `fuller_agent_containers`, computed from its own
/// state (one executor per registry).
final class AgentMetrics: Sendable {
    let registry: MetricsRegistry
    /// Engine API calls by operation (`create`, `start`, `inspect`, …), successful or not.
    let dockerSeconds: HistogramFamily
    let dockerErrors: CounterFamily
    /// Heartbeats by kind (`long_poll`, `immediate`) and outcome.
    let heartbeats: CounterFamily
    let heartbeatSeconds: HistogramFamily
    /// Health probes the agent ran, by result (`pass`, `fail`).
    let healthChecks: CounterFamily
    let healthCheckSeconds: Histogram
    /// Actions the supervisor asked for, by kind: what reconciliation did.
    let reconcileActions: CounterFamily
    /// Metadata requests refused because the caller's MAC is not its container's.
    let metadataLinkMismatches: Counter
    /// When a master last answered a heartbeat (`fuller_agent_heartbeat_answer_age_seconds`).
    private let lastAnswer = Mutex<ContinuousClock.Instant?>(nil)

    init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        dockerSeconds = registry.histogram("fuller_agent_docker_request_seconds",
                                           help: "Docker Engine API call latency, by operation.", labels: ["operation"])
        dockerErrors = registry.counter("fuller_agent_docker_errors_total",
                                        help: "Docker Engine API calls that failed, by operation and error.",
                                        labels: ["operation", "error"])
        heartbeats = registry.counter("fuller_agent_heartbeats_total",
                                      help: "Heartbeats sent to the masters, by kind and result.", labels: ["kind", "result"])
        heartbeatSeconds = registry.histogram("fuller_agent_heartbeat_seconds",
                                              help: "Heartbeat round trip, by kind (a long poll includes the master's wait).",
                                              labels: ["kind"], buckets: Histogram.defaultLatencyBuckets + [15, 30])
        healthChecks = registry.counter("fuller_agent_health_checks_total",
                                        help: "Health probes the agent ran against its containers, by result.", labels: ["result"])
        healthCheckSeconds = registry.histogram("fuller_agent_health_check_seconds", help: "Duration of one health probe.")
        reconcileActions = registry.counter("fuller_agent_reconcile_actions_total",
                                            help: "Actions taken to bring containers to the desired state, by kind.",
                                            labels: ["kind"])
        metadataLinkMismatches = registry.counter("fuller_agent_metadata_link_mismatches_total",
                                                  help: "Metadata requests refused because the host's neighbour entry for the source IP shows another MAC than the container's.")
        registry.gaugeFunction("fuller_agent_heartbeat_answer_age_seconds",
                               help: "Seconds since a master last answered a heartbeat (absent before the first).") {
            [weak self] in
            guard let last = self?.lastAnswer.withLock({ $0 }) else { return [] }
            return [(labelValues: [], value: last.duration(to: .now).seconds)]
        }
    }

    /// Counts one heartbeat of `kind` by its outcome; an answered one is timed and dated.
    func heartbeat(kind: String, outcome: String, answered: Bool, took: Duration) {
        heartbeats.labels(kind, outcome).increment()
        guard answered else { return }
        heartbeatSeconds.labels(kind).observe(took)
        lastAnswer.withLock { $0 = .now }
    }
}

extension DockerError {
    /// A short, bounded label value for metrics.
    var metricLabel: String {
        switch self {
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .badRequest: "bad_request"
        case .serverError: "server_error"
        case .daemonUnavailable: "unavailable"
        case .notModified: "not_modified"
        }
    }
}

extension Supervisor.Action {
    /// The action's kind as a metric label.
    var metricKind: String {
        switch self {
        case .pull: "pull"
        case .create: "create"
        case .start: "start"
        case .stop: "stop"
        case .remove: "remove"
        case .inspect: "inspect"
        case .fetchLogs: "logs"
        case .list: "list"
        case .probe: "probe"
        }
    }
}
