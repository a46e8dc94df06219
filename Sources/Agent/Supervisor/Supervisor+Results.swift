import Model
import Shared

/// Outcomes of the actions the shell performed. `daemonUnavailable` never decides a task's fate:
/// the operation is retried with bounded backoff once Docker answers again.
///
/// Failure mapping (documented choice):
/// - create 404 (image missing): pull once, create again; a failed pull, or a second 404 →
///   `invalidRequest` with the daemon's message.
/// - create 400 (the daemon rejects the spec) → `invalidRequest`; create 5xx → `transientSystemError`
///   (the host's trouble, worth retrying elsewhere); create 409 (the name is taken) → list and adopt.
/// - start error (e.g. executable not found) → `failed` with the daemon's message.
extension Supervisor {
    mutating func actionFinished(_ result: ActionResult, now: Timestamp) -> [Action] {
        var extra: [Action] = []
        switch result {
        case .pulled(let taskId, let result): pulled(taskId, result, now: now)
        case .created(let taskId, let result): extra = created(taskId, result, now: now)
        case .started(let taskId, let containerId, let result): started(taskId, containerId, result, now: now)
        case .stopped(let id, let result), .removed(let id, let result): containerOperationFinished(id, result, now: now)
        case .inspected(let id, let result): inspected(id, result, now: now)
        case .logsFetched(let taskId, _, let text):
            updateTask(taskId) { $0.pending = nil; $0.logTail = text ?? "" }
        case .probed(let id, let ok, let message):
            updateContainer(id) { $0.health?.finish(ok: ok, message: message, now: now) }
        }
        return extra + reconcile(now: now)
    }

    private mutating func pulled(_ taskId: String, _ result: Result<Void, DockerError>, now: Timestamp) {
        updateTask(taskId) { $0.pending = nil; $0.pullAttempted = true }
        guard case .failure(let error) = result, let record = tasks[taskId] else { return }
        if case .daemonUnavailable = error {
            retryTask(taskId, now: now)
            updateTask(taskId) { $0.pullAttempted = false }
            return
        }
        finish(taskId, reason: .invalidRequest, exitCode: nil,
               message: "image \(record.assignment.container.image) is missing and could not be pulled: \(Self.text(error))")
    }

    private mutating func created(_ taskId: String, _ result: Result<String, DockerError>, now: Timestamp) -> [Action] {
        updateTask(taskId) { $0.pending = nil }
        guard let record = tasks[taskId] else { return [] }
        switch result {
        case .success(let id):
            updateTask(taskId) { $0.containerId = id; $0.retry.succeeded() }
            if containers[id] == nil {
                insertContainer(ContainerView(id: id, taskId: taskId, status: "created", learnedAt: 0))
            }
        case .failure(.conflict):
            retryTask(taskId, now: now)
            return [.list]
        case .failure(.notFound(let message)) where !record.pullAttempted:
            _ = message
            updateTask(taskId) { $0.pending = .pull }
            return [.pull(taskId: taskId, image: record.assignment.container.image)]
        case .failure(.notFound(let message)):
            finish(taskId, reason: .invalidRequest, exitCode: nil,
                   message: "image \(record.assignment.container.image) is missing: \(message)")
        case .failure(.badRequest(let message)):
            finish(taskId, reason: .invalidRequest, exitCode: nil, message: "create failed: \(message)")
        case .failure(.serverError(_, let message)):
            finish(taskId, reason: .transientSystemError, exitCode: nil, message: "create failed: \(message)")
        case .failure(.daemonUnavailable), .failure(.notModified):
            retryTask(taskId, now: now)
        }
        return []
    }

    private mutating func started(_ taskId: String, _ containerId: String, _ result: Result<Void, DockerError>,
                                  now: Timestamp) {
        updateTask(taskId) { $0.pending = nil }
        switch result {
        case .success, .failure(.notModified):
            updateTask(taskId) { $0.retry.succeeded() }
            updateContainer(containerId) { $0.stale = true; $0.startAccepted = true }
        case .failure(.notFound):
            forget(containerId: containerId)
        case .failure(.daemonUnavailable):
            retryTask(taskId, now: now)
        case .failure(.serverError(_, let message)):
            // The daemon's own failure, not the task's: try again later, and only give up (as a
            // retryable system error) after several.
            updateContainer(containerId) { $0.stale = true }
            updateTask(taskId) { $0.transientStartFailures += 1 }
            if (tasks[taskId]?.transientStartFailures ?? 0) >= Self.transientStartFailuresMax {
                finish(taskId, reason: .transientSystemError, exitCode: nil, message: "start failed: \(message)")
            } else {
                retryTask(taskId, now: now)
            }
        case .failure(let error):
            updateContainer(containerId) { $0.stale = true }
            finish(taskId, reason: .failed, exitCode: nil, message: "start failed: \(Self.text(error))")
        }
    }

    /// 5xx answers to a start tolerated before the task ends with `transientSystemError`.
    static let transientStartFailuresMax = 5

    /// Stop and remove: either way, look again (or forget a container that is gone).
    private mutating func containerOperationFinished(_ id: String, _ result: Result<Void, DockerError>, now: Timestamp) {
        let wasRemove = containers[id]?.pending == .remove
        updateContainer(id) { $0.pending = nil }
        switch result {
        case .success where wasRemove, .failure(.notFound):
            forget(containerId: id)
        case .success, .failure(.notModified):
            updateContainer(id) { $0.stale = true; $0.retry.succeeded() }
        case .failure:
            retryContainer(id, now: now)
            updateContainer(id) { $0.stale = true }
        }
    }

    private mutating func inspected(_ id: String, _ result: Result<ContainerDetails, DockerError>, now: Timestamp) {
        updateContainer(id) { $0.pending = nil }
        switch result {
        case .success(let details):
            updateContainer(id) { view in
                view.details = details
                view.status = details.status
                view.taskId = details.labels[Self.taskLabel]
                view.stale = false
                view.retry.succeeded()
            }
        case .failure(.notFound):
            forget(containerId: id)
        case .failure:
            retryContainer(id, now: now)
        }
    }

    private mutating func retryTask(_ id: String, now: Timestamp) {
        let (initial, max) = (configuration.retryInitial, configuration.retryMax)
        updateTask(id) { $0.retry.failed(at: now, initial: initial, max: max) }
    }

    private mutating func retryContainer(_ id: String, now: Timestamp) {
        let (initial, max) = (configuration.retryInitial, configuration.retryMax)
        updateContainer(id) { $0.retry.failed(at: now, initial: initial, max: max) }
    }

    /// The daemon's own words for a failure.
    static func text(_ error: DockerError) -> String {
        switch error {
        case .notFound(let m), .conflict(let m), .badRequest(let m), .daemonUnavailable(let m): m
        case .serverError(_, let m): m
        case .notModified: "not modified"
        }
    }
}
