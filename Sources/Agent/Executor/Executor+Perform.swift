import Model
import Shared

/// Performing the supervisor's actions against Docker.
extension Executor {
    func perform(_ action: Supervisor.Action) async {
        if action == .list {
            await list()
            return
        }
        let result = await outcome(of: action)
        let now = wallClock.now()
        guard case .probe(let taskId, let containerId, _) = action else {
            feed { $0.actionFinished(result, now: now) }
            return
        }
        let health = { self.state.withLock { $0.supervisor.containers[containerId]?.health?.status } }
        let before = health()
        feed { $0.actionFinished(result, now: now) }
        if let after = health(), after != before {
            logger.info("task health changed", ["task": .string(taskId), "health": .string(after.rawValue),
                                                "probe": .string(result.probeMessage ?? "")])
        }
    }

    private func outcome(of action: Supervisor.Action) async -> Supervisor.ActionResult {
        switch action {
        case .pull(let taskId, let image):
            logger.info("pulling image", ["task": .string(taskId), "image": .string(image)])
            return .pulled(taskId: taskId, await call { () async throws(DockerError) in try await engine.pullImage(image) })
        case .create(let taskId, let name, let config):
            let admitted: ContainerCreateConfig
            switch configuration.policy.admit(config) {
            case .success(let config): admitted = config
            case .failure(let refusal):
                logger.warn("task refused by this agent's policy", ["task": .string(taskId), "error": .string(refusal.description)])
                // A 400 from the agent itself: the task ends `invalidRequest` and never runs.
                return .created(taskId: taskId, .failure(.badRequest("refused by this agent's policy: \(refusal.description)")))
            }
            return .created(taskId: taskId, await call { () async throws(DockerError) in try await engine.createContainer(name: name, admitted) })
        case .start(let taskId, let id):
            return .started(taskId: taskId, containerId: id, await call { () async throws(DockerError) in try await engine.startContainer(id) })
        case .stop(let id, let grace):
            logger.info("stopping container", ["container": .string(id), "graceSeconds": .int(Int64(grace))])
            return .stopped(containerId: id, await call { () async throws(DockerError) in
                try await engine.stopContainer(id, graceSeconds: grace)
            })
        case .remove(let id):
            return .removed(containerId: id, await call { () async throws(DockerError) in try await engine.removeContainer(id, force: true) })
        case .inspect(let id):
            return .inspected(containerId: id, await call { () async throws(DockerError) in try await engine.inspectContainer(id) })
        case .fetchLogs(let taskId, let id, let lines):
            return .logsFetched(taskId: taskId, containerId: id, text: await logTail(id, lines: lines))
        case .probe(let taskId, let id, let probe):
            let start = ContinuousClock.now
            let (ok, message) = await HTTPHealthProbe.run(probe)
            metrics.healthCheckSeconds.observe(start.duration(to: .now))
            metrics.healthChecks.labels(ok ? "pass" : "fail").increment()
            if !ok { logger.debug("health probe failed", ["task": .string(taskId), "error": .string(message)]) }
            return .probed(containerId: id, ok: ok, message: message)
        case .list:
            preconditionFailure("a list is performed by list()")
        }
    }

    /// Runs one Docker call, noting what its outcome says about Docker's health.
    private func call<T: Sendable>(_ body: () async throws(DockerError) -> T) async -> Result<T, DockerError> {
        do {
            let value = try await body()
            noteDocker(nil)
            return .success(value)
        } catch {
            // A cancelled call says nothing about Docker: the agent is stopping.
            if !Task.isCancelled { noteDocker(error) }
            return .failure(error)
        }
    }

    /// The container's last lines, or nil if they did not come within `logsTimeout`.
    private func logTail(_ id: String, lines: Int) async -> String? {
        await withTaskGroup(of: String??.self) { group in
            group.addTask { try? await self.engine.logs(id, tailLines: lines) }
            group.addTask {
                try? await self.sleep(self.configuration.logsTimeout)
                return .some(nil)
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? nil
        }
    }

    /// Lists every `fuller.managed` container and hands the list to the supervisor.
    func list() async {
        let token = state.withLock { state in
            state.listWanted = false
            return state.supervisor.beginList()
        }
        let labels = state.withLock { $0.supervisor.ownLabels }
        let result = await call { () async throws(DockerError) in
            try await engine.listContainers(labels: labels, all: true)
        }
        let now = wallClock.now()
        switch result {
        case .success(let summaries):
            state.withLock { $0.lastList = now }
            feed { $0.listed(summaries, token: token, now: now) }
        case .failure(let error):
            state.withLock { $0.listWanted = true }
            logger.warn("listing containers failed", ["error": .string(error.description)])
        }
    }

    /// Ticks the supervisor every `tickInterval` and lists when one is due: every `listInterval`,
    /// when asked for, and, while Docker is down, with bounded backoff until it answers.
    func maintain() async {
        var backoff = Backoff(initial: configuration.recoveryInitial, max: configuration.recoveryMax)
        var nextAttempt: Timestamp?
        while !Task.isCancelled {
            let now = wallClock.now()
            let (wanted, last, available) = state.withLock { ($0.listWanted, $0.lastList, $0.health.available) }
            let due = wanted || last.map { now >= $0.advanced(by: configuration.listInterval) } ?? true
            if due && (nextAttempt.map { now >= $0 } ?? true) {
                await list()
                if health.available {
                    backoff.reset()
                    nextAttempt = nil
                } else {
                    nextAttempt = wallClock.now().advanced(by: backoff.next())
                }
            } else if !available && nextAttempt == nil {
                nextAttempt = now
            }
            feed { $0.tick(now: wallClock.now()) }
            do { try await sleep(configuration.tickInterval) } catch { return }
        }
    }

    /// Follows Docker's event stream; when it ends or fails, lists (events may have been missed)
    /// and reconnects after a bounded backoff.
    func watchEvents() async {
        var backoff = Backoff(initial: configuration.recoveryInitial, max: configuration.recoveryMax)
        let labels = state.withLock { $0.supervisor.ownLabels }
        while !Task.isCancelled {
            do throws(DockerError) {
                try await engine.events(labels: labels) { [self] event in
                    handle(event)
                    return true
                }
                backoff.reset()
            } catch {
                if !Task.isCancelled { noteDocker(error) }
                logger.debug("event stream ended", ["error": .string(error.description)])
            }
            if Task.isCancelled { return }
            state.withLock { $0.listWanted = true }
            do { try await sleep(backoff.next()) } catch { return }
        }
    }

    /// One Docker event: a container that died, was OOM-killed, stopped or paused is inspected at
    /// once. `create` and `start` are left out: the agent inspects after its own creates and
    /// starts anyway, and inspecting twice per start doubles the load on a busy daemon; a
    /// container someone else starts shows up in the next periodic list.
    func handle(_ event: DockerEvent) {
        guard event.type == "container", !event.id.isEmpty else { return }
        let now = wallClock.now()
        switch event.action {
        case "destroy":
            feed { $0.containerGone(event.id, now: now) }
        case "die", "oom", "stop", "pause", "unpause":
            feed { $0.containerChanged(event.id, now: now) }
        case let action where action.hasPrefix("health_status"):
            feed { $0.containerChanged(event.id, now: now) }
        default:
            break
        }
    }
}
