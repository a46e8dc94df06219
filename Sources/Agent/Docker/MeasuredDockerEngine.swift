import Shared

/// A `DockerEngine` that times every call of the one it wraps into `AgentMetrics`
/// (`fuller_agent_docker_request_seconds{operation}`) and counts failures by kind. The event
/// stream, which stays open for the agent's life, is counted only when it fails.
struct MeasuredDockerEngine: DockerEngine {
    let engine: any DockerEngine
    let metrics: AgentMetrics

    private func measure<T>(_ operation: String, _ body: () async throws(DockerError) -> T) async throws(DockerError) -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            metrics.dockerSeconds.labels(operation).observe(start.duration(to: .now))
            return value
        } catch {
            metrics.dockerSeconds.labels(operation).observe(start.duration(to: .now))
            metrics.dockerErrors.labels(operation, error.metricLabel).increment()
            throw error
        }
    }

    func ping() async throws(DockerError) { try await measure("ping") { () async throws(DockerError) in try await engine.ping() } }
    func version() async throws(DockerError) -> DockerVersion {
        try await measure("version") { () async throws(DockerError) in try await engine.version() }
    }
    func inspectImage(_ reference: String) async throws(DockerError) -> DockerImage? {
        try await measure("inspect_image") { () async throws(DockerError) in try await engine.inspectImage(reference) }
    }
    func pullImage(_ reference: String) async throws(DockerError) {
        try await measure("pull") { () async throws(DockerError) in try await engine.pullImage(reference) }
    }
    func createContainer(name: String, _ config: ContainerCreateConfig) async throws(DockerError) -> String {
        try await measure("create") { () async throws(DockerError) in try await engine.createContainer(name: name, config) }
    }
    func startContainer(_ id: String) async throws(DockerError) {
        try await measure("start") { () async throws(DockerError) in try await engine.startContainer(id) }
    }
    func inspectContainer(_ id: String) async throws(DockerError) -> ContainerDetails {
        try await measure("inspect") { () async throws(DockerError) in try await engine.inspectContainer(id) }
    }
    func waitContainer(_ id: String) async throws(DockerError) -> Int {
        try await measure("wait") { () async throws(DockerError) in try await engine.waitContainer(id) }
    }
    func stopContainer(_ id: String, graceSeconds: Int) async throws(DockerError) {
        try await measure("stop") { () async throws(DockerError) in try await engine.stopContainer(id, graceSeconds: graceSeconds) }
    }
    func killContainer(_ id: String, signal: String) async throws(DockerError) {
        try await measure("kill") { () async throws(DockerError) in try await engine.killContainer(id, signal: signal) }
    }
    func removeContainer(_ id: String, force: Bool) async throws(DockerError) {
        try await measure("remove") { () async throws(DockerError) in try await engine.removeContainer(id, force: force) }
    }
    func listContainers(labels: [String: String], all: Bool) async throws(DockerError) -> [ContainerSummary] {
        try await measure("list") { () async throws(DockerError) in try await engine.listContainers(labels: labels, all: all) }
    }
    func logs(_ id: String, tailLines: Int) async throws(DockerError) -> String {
        try await measure("logs") { () async throws(DockerError) in try await engine.logs(id, tailLines: tailLines) }
    }
    func events(labels: [String: String], onEvent: @escaping @Sendable (DockerEvent) -> Bool) async throws(DockerError) {
        do {
            try await engine.events(labels: labels, onEvent: onEvent)
        } catch {
            metrics.dockerErrors.labels("events", error.metricLabel).increment()
            throw error
        }
    }
}
