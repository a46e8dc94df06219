import Model
import Shared

/// Job health checks: who runs which probe, and what the task report says.
///
/// Who runs it (a decision; see `HealthCheck.Probe`):
/// - `exec` stays a Docker `HEALTHCHECK` (`CMD` + the command). Docker runs it inside the container
///   with the same interval, timeout, retries and start period, keeps the state across agent
///   restarts, shows it in `docker inspect`, and announces each change as a `health_status` event
///   the agent already follows (then inspects). Running it through the exec API instead would cost
///   three Engine API calls per probe (create, start, inspect) from the agent's bounded Docker
///   budget, for no better answer.
/// - `http` is sent by the agent itself, from the host, to the container's address on its network
///   (the bridge IP the agent can reach). A probe from inside the container would need an HTTP
///   client in the image: many images have none, and busybox `wget` is not dependable. The
///   image's own `HEALTHCHECK` is switched off (`NONE`) so that only the job's check judges.
///   The agent-run check follows `HealthCheckState`, which has Docker's rules.
/// - Without a job check, an image's own `HEALTHCHECK` status is reported as Docker has it.
extension Supervisor {
    /// The Docker `HEALTHCHECK` for a job's check: the exec probe itself, or `NONE` for an HTTP
    /// probe (which the agent runs; see above).
    static func healthcheck(_ check: HealthCheck) -> ContainerHealthcheck {
        let second: Int64 = 1_000_000_000
        switch check.probe {
        case .exec(let command):
            return ContainerHealthcheck(test: ["CMD"] + command, intervalNanoseconds: Int64(check.intervalSeconds) * second,
                                        timeoutNanoseconds: Int64(check.timeoutSeconds) * second, retries: check.retries,
                                        startPeriodNanoseconds: Int64(check.startPeriodSeconds) * second)
        case .http:
            return ContainerHealthcheck(test: ["NONE"], intervalNanoseconds: 0, timeoutNanoseconds: 0, retries: 0,
                                        startPeriodNanoseconds: 0)
        }
    }

    /// The probes due now, one per running container whose task has an HTTP check; each is marked
    /// in flight until its `probed` result.
    mutating func dueProbes(now: Timestamp) -> [Action] {
        var actions: [Action] = []
        for id in tasks.keys.sorted() {
            guard let record = tasks[id], record.final == nil, record.owned, !record.killRequested,
                  let check = record.assignment.container.healthCheck,
                  case .http(let port, let path) = check.probe,
                  let containerId = record.containerId, let view = containers[containerId],
                  let details = view.details, Self.phase(details) == .running,
                  let ip = details.ipAddress else { continue }
            var state = view.health ?? HealthCheckState(check: check, startedAt: Self.dockerTime(details.startedAt) ?? now)
            guard state.isDue(now) else { continue }
            state.begin()
            updateContainer(containerId) { $0.health = state }
            actions.append(.probe(taskId: id, containerId: containerId,
                                  HealthProbe(host: ip, port: port, path: path, timeout: .seconds(check.timeoutSeconds))))
        }
        return actions
    }

    /// What a running task's report says about its health: the agent's own check when it runs
    /// one, else Docker's (an exec check, or the image's `HEALTHCHECK`), else nothing.
    static func reportedHealth(_ view: ContainerView) -> String? {
        view.health?.status.rawValue ?? view.details?.health
    }
}
