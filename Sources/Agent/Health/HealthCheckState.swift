import Model
import Shared

/// A task's health as the agent reports it in `TaskReport.health`.
enum HealthStatus: String, Sendable, Equatable {
    case starting, healthy, unhealthy
}

/// One container's health check, as a pure state machine (no clock, no I/O: every input carries
/// `now`). The same rules as Docker's `HEALTHCHECK`, so a job reads alike whichever runs it:
///
/// ```
///            success                      `retries` failures in a row
///  starting ─────────► healthy ◄──────────────────────────────► unhealthy
///     │                          one success
///     └── `retries` failures in a row after the start period ──► unhealthy
/// ```
/// - Within `startPeriodSeconds` of the container's start a failure does not count; a success
///   still makes the task healthy at once.
/// - A probe is due `intervalSeconds` after the previous one ended (the first at once), so a slow
///   probe never overlaps the next, and at most one is in flight.
struct HealthCheckState: Sendable, Equatable {
    let check: HealthCheck
    /// When the container started: the start period counts from here.
    let startedAt: Timestamp
    private(set) var status: HealthStatus = .starting
    /// Failures in a row that counted (outside the start period).
    private(set) var failureStreak = 0
    private(set) var inFlight = false
    private(set) var nextDue: Timestamp
    /// The last probe's outcome in words (an HTTP status, a timeout), for logs.
    private(set) var lastMessage: String?

    init(check: HealthCheck, startedAt: Timestamp) {
        self.check = check
        self.startedAt = startedAt
        self.nextDue = startedAt
    }

    /// Whether a probe should start now.
    func isDue(_ now: Timestamp) -> Bool { !inFlight && now >= nextDue }

    /// A probe starts.
    mutating func begin() {
        precondition(!inFlight, "one health probe at a time per container")
        inFlight = true
    }

    /// The probe that `begin` started ended at `now`. Returns true when `status` changed.
    @discardableResult
    mutating func finish(ok: Bool, message: String?, now: Timestamp) -> Bool {
        inFlight = false
        nextDue = now.advanced(by: .seconds(check.intervalSeconds))
        lastMessage = message
        let before = status
        if ok {
            failureStreak = 0
            status = .healthy
        } else if now >= startedAt.advanced(by: .seconds(check.startPeriodSeconds)) {
            failureStreak = min(failureStreak + 1, check.retries)
            if failureStreak >= check.retries { status = .unhealthy }
        }
        return status != before
    }
}
