import JobStore
import Model
import Shared
import Storage

/// The master's metrics. Names are listed in README's metrics table; keep the two in step.
final class MasterMetrics: Sendable {
    let registry = MetricsRegistry()
    let requests: CounterFamily
    let requestSeconds: HistogramFamily
    let fsyncSeconds: Histogram
    let fsyncBatchRecords: Histogram
    let walRecords: Counter
    let authRefusals: CounterFamily

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
        authRefusals = registry.counter("fuller_http_auth_refusals_total",
                                        help: "Requests refused before their route: 401 (missing, malformed, unknown, expired) or 403 (forbidden).",
                                        labels: ["reason"])
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
