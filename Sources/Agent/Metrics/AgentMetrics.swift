import Shared

/// The agent's metrics, served at `/metrics`. Every name is listed in `docs/metrics.md` (a test
/// keeps the two in step). The executor and the heartbeat loop add the computed gauges that read
/// their own state (`fuller_agent_containers`, `fuller_agent_heartbeat_answer_age_seconds`).
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
