@testable import Agent
import Shared
import Synchronization

/// A `DockerEngine` in memory (over `FakeContainers`), with what executor tests need to watch:
/// calls in flight, a gate that holds creates, Docker going down, and an event stream.
final class FakeDockerEngine: DockerEngine {
    struct State {
        var docker = FakeContainers()
        var inFlight = 0
        var maxInFlight = 0
        var creates = 0
        var lists = 0
        var holdCreates = false
        var held: [CheckedContinuation<Void, Never>] = []
        var subscribers: [UInt64: @Sendable (DockerEvent) -> Bool] = [:]
        var nextSubscriber: UInt64 = 0
    }
    let state = Mutex(State())

    var inFlightMax: Int { state.withLock { $0.maxInFlight } }
    var createCount: Int { state.withLock { $0.creates } }
    var containers: [String: ContainerDetails] { state.withLock { $0.docker.containers } }

    func setDown(_ down: Bool) { state.withLock { $0.docker.down = down } }

    func holdCreates(_ hold: Bool) {
        let released = state.withLock { state in
            state.holdCreates = hold
            defer { if !hold { state.held = [] } }
            return hold ? [] : state.held
        }
        released.forEach { $0.resume() }
    }

    /// Ends container `id` with `code` and tells event subscribers, as Docker does.
    func exit(_ id: String, code: Int, oom: Bool = false) {
        let subscribers = state.withLock { state in
            state.docker.exit(id, code: code, now: Timestamp.now(), oom: oom)
            return Array(state.subscribers.values)
        }
        let event = DockerEvent(type: "container", action: "die", id: id, attributes: ["exitCode": String(code)], timeNanoseconds: 0)
        for subscriber in subscribers { _ = subscriber(event) }
    }

    private func perform(_ action: Supervisor.Action) async -> Supervisor.ActionResult {
        state.withLock { state in
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
        }
        // Give other workers the chance to overlap, as real calls would.
        await Task.yield()
        defer { state.withLock { $0.inFlight -= 1 } }
        return state.withLock { $0.docker.perform(action, now: Timestamp.now())! }
    }

    private func waitIfHeld() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let go = state.withLock { state in
                state.creates += 1
                if state.holdCreates { state.held.append(continuation) }
                return !state.holdCreates
            }
            if go { continuation.resume() }
        }
    }

    private var unavailable: DockerError? {
        state.withLock { $0.docker.down ? DockerError.daemonUnavailable("connection refused") : nil }
    }

    func ping() async throws(DockerError) { if let unavailable { throw unavailable } }
    func version() async throws(DockerError) -> DockerVersion {
        if let unavailable { throw unavailable }
        return DockerVersion(version: "fake", apiVersion: "1.43", minAPIVersion: "1.12")
    }
    func inspectImage(_ reference: String) async throws(DockerError) -> DockerImage? {
        state.withLock { $0.docker.images.contains(reference) } ? DockerImage(id: "sha256:fake") : nil
    }
    func pullImage(_ reference: String) async throws(DockerError) {
        guard case .pulled(_, let result) = await perform(.pull(taskId: "", image: reference)) else { fatalError() }
        try result.get()
    }
    func createContainer(name: String, _ config: ContainerCreateConfig) async throws(DockerError) -> String {
        await waitIfHeld()
        guard case .created(_, let result) = await perform(.create(taskId: "", name: name, config: config)) else { fatalError() }
        return try result.get()
    }
    func startContainer(_ id: String) async throws(DockerError) {
        guard case .started(_, _, let result) = await perform(.start(taskId: "", containerId: id)) else { fatalError() }
        try result.get()
    }
    func inspectContainer(_ id: String) async throws(DockerError) -> ContainerDetails {
        guard case .inspected(_, let result) = await perform(.inspect(containerId: id)) else { fatalError() }
        return try result.get()
    }
    func waitContainer(_ id: String) async throws(DockerError) -> Int { 0 }
    func stopContainer(_ id: String, graceSeconds: Int) async throws(DockerError) {
        guard case .stopped(_, let result) = await perform(.stop(containerId: id, graceSeconds: graceSeconds)) else { fatalError() }
        try result.get()
    }
    func killContainer(_ id: String, signal: String) async throws(DockerError) {}
    func removeContainer(_ id: String, force: Bool) async throws(DockerError) {
        guard case .removed(_, let result) = await perform(.remove(containerId: id)) else { fatalError() }
        try result.get()
    }
    func listContainers(labels: [String: String], all: Bool) async throws(DockerError) -> [ContainerSummary] {
        if let unavailable { throw unavailable }
        return state.withLock { state in
            state.lists += 1
            return state.docker.summaries.filter { summary in labels.allSatisfy { summary.labels[$0.key] == $0.value } }
        }
    }
    func logs(_ id: String, tailLines: Int) async throws(DockerError) -> String {
        if let unavailable { throw unavailable }
        return state.withLock { $0.docker.logText }
    }

    /// Delivers events until the calling task is cancelled or Docker goes down.
    func events(labels: [String: String], onEvent: @escaping @Sendable (DockerEvent) -> Bool) async throws(DockerError) {
        if let unavailable { throw unavailable }
        let id = state.withLock { state in
            state.nextSubscriber += 1
            state.subscribers[state.nextSubscriber] = onEvent
            return state.nextSubscriber
        }
        while !Task.isCancelled && unavailable == nil {
            try? await Task.sleep(for: .milliseconds(5))
        }
        state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        throw unavailable ?? .daemonUnavailable("cancelled")
    }
}

/// Polls `condition` every few milliseconds until it holds or `limit` passes; returns whether it held.
func eventually(_ limit: Duration = .seconds(15), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
