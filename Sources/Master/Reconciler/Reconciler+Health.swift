import JobStore
import Model

/// Unhealthy service tasks: replaced once Docker's verdict (the job's health check failed
/// `retries` times in a row) has held for one more check interval, and never more at once than
/// the job's disruption budget allows.
extension Reconciler {
    /// A task's health as its agent last reported it (`none` without a health check).
    enum ReportedHealth {
        case none, starting, healthy, unhealthy

        init(_ text: String?) {
            switch text {
            case "starting": self = .starting
            case "healthy": self = .healthy
            case "unhealthy": self = .unhealthy
            default: self = .none
            }
        }
    }

    /// One job with a task reported unhealthy: which of them to replace now.
    func checkHealth(_ jobId: String, _ pass: inout Pass) {
        guard let job = pass.store.job(jobId), job.spec.type == .service, job.state == .accepted else { return }
        var unfinished = 0, available = 0
        var candidates: [(since: Int64, task: JobTask)] = []
        for task in pass.store.tasks(ofJob: jobId) where !task.isFinished {
            unfinished += 1
            guard task.state == .started, let agentId = task.agentId, !pass.acted.contains(task.id),
                  pass.silenceMs(agentId) <= disconnectedMs else { continue }
            let health = ReportedHealth(pass.input.agents[agentId]?.reports?[task.id]?.health)
            // A replacement is still being replaced until its health check has passed once.
            if health != .starting { available += 1 }
            if health == .unhealthy, let since = unhealthySince(task, job, &pass) { candidates.append((since, task)) }
        }
        guard !candidates.isEmpty else { return }
        replaceUnhealthy(job, candidates, disrupted: unfinished - available, &pass)
    }

    /// Since when a task reported unhealthy has been so, if it is a running service task and
    /// that has lasted at least its threshold; nil otherwise.
    func unhealthySince(_ task: JobTask, _ job: Job, _ pass: inout Pass) -> Int64? {
        guard job.spec.type == .service, job.state == .accepted else { return nil }
        let since = unhealthyFrom[task.id] ?? pass.now
        pass.unhealthy[task.id] = since
        return pass.now - since >= Self.unhealthyThresholdMs(job.spec.container.healthCheck) ? since : nil
    }

    /// One health-check interval (10 s without a check, as Docker's default).
    static func unhealthyThresholdMs(_ check: HealthCheck?) -> Int64 {
        Int64(max(check?.intervalSeconds ?? 10, 1)) * 1_000
    }

    /// How many of a job's tasks may be unavailable because Fuller disrupts them.
    static func budget(_ job: Job) -> Int {
        let desired = job.spec.service?.capacity.desired ?? 0
        switch job.spec.disruptionBudget {
        case nil: return 1
        case .maxUnavailable(let n)?: return n
        case .maxUnavailablePercent(let p)?: return max(1, desired * p / 100)
        }
    }

    /// Kills the longest-unhealthy candidates while the job's disrupted tasks (not yet started
    /// or still `starting` their health check, being killed, disconnected, or just acted on)
    /// stay within budget. Unhealthy tasks themselves do not count: they are what the budget
    /// lets Fuller replace, a few at a time.
    func replaceUnhealthy(_ job: Job, _ candidates: [(since: Int64, task: JobTask)], disrupted: Int, _ pass: inout Pass) {
        let budget = Self.budget(job)
        var room = budget - disrupted
        for (since, task) in candidates.sorted(by: { ($0.since, $0.task.id) < ($1.since, $1.task.id) }) {
            let unhealthyFor = Self.text(pass.now - since)
            guard room > 0 else {
                pass.deferred.insert(task.id)
                if !deferred.contains(task.id) {
                    pass.act(ReconcileAction(kind: .unhealthyDeferred, agentId: task.agentId, taskId: task.id,
                                                        reason: "unhealthy for \(unhealthyFor); job \(job.id) has \(budget - room) of "
                                                            + "\(budget) allowed disruptions in progress"))
                }
                continue
            }
            room -= 1
            let why = "unhealthy for \(unhealthyFor) (health check failing)"
            pass.act(ReconcileAction(kind: .unhealthy, agentId: task.agentId, taskId: task.id, reason: why,
                                                update: TaskUpdate(taskId: task.id, state: .killInitiated, reason: .failed,
                                                                   message: why, atMs: pass.now)))
        }
    }
}
