import Scheduler
import Shared

/// The scheduler's metrics (docs/metrics.md): placements made, tasks left pending by reason, and
/// placements the store refused at commit. Iteration time is `MasterMetrics`'.
final class SchedulerMetrics: Sendable {
    let placements: Counter
    let failures: CounterFamily
    let commitRefusals: Counter

    init(registry: MetricsRegistry) {
        placements = registry.counter("fuller_scheduler_placements_total", help: "Tasks the scheduler placed on an agent.")
        failures = registry.counter("fuller_scheduler_failures_total",
                                    help: "Agents that refused a task left pending, by reason, summed over iterations.",
                                    labels: ["reason"])
        commitRefusals = registry.counter("fuller_scheduler_commit_refusals_total",
                                          help: "Placements the store refused at commit (the agent would be over-committed).")
    }

    func observe(_ plan: PlacementPlan) {
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
