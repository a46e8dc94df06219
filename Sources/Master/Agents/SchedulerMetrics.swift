import Scheduler
import Shared

/// The scheduler's metrics (README's metrics table): placements made, tasks left pending by
/// reason, iteration time, and placements the store refused at commit.
final class SchedulerMetrics: Sendable {
    let placements: Counter
    let failures: CounterFamily
    let iterationSeconds: Histogram
    let commitRefusals: Counter

    init(registry: MetricsRegistry) {
        placements = registry.counter("fuller_scheduler_placements_total", help: "Tasks the scheduler placed on an agent.")
        failures = registry.counter("fuller_scheduler_failures_total",
                                    help: "Agents that refused a task left pending, by reason, summed over iterations.",
                                    labels: ["reason"])
        iterationSeconds = registry.histogram("fuller_scheduler_iteration_seconds", help: "Time one scheduling iteration took.",
                                              buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1])
        commitRefusals = registry.counter("fuller_scheduler_commit_refusals_total",
                                          help: "Placements the store refused at commit (the agent would be over-committed).")
    }

    func observe(_ plan: PlacementPlan, seconds: Double) {
        iterationSeconds.observe(seconds)
        placements.increment(by: UInt64(plan.placements.count))
        for reasons in plan.unplaced.values {
            for (reason, count) in reasons {
                // hostAttribute:<key> names are the user's; one label per constraint kind keeps
                // the series bounded.
                let label = reason.hasPrefix("hostAttribute:") ? "hostAttribute" : reason
                failures.labels(label).increment(by: UInt64(count))
            }
        }
    }

    func commitRefused() { commitRefusals.increment() }
}
