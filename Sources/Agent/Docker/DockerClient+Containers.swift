import Model
import Shared
import Synchronization

/// Container life cycle: create, start, inspect, wait, stop, kill, remove, list, logs.
extension DockerClient {
    func createContainer(name: String, _ config: ContainerCreateConfig) async throws(DockerError) -> String {
        let query: [(String, String)] = name.isEmpty ? [] : [("name", name)]
        let response = try await call(.POST, "/containers/create", query: query, json: DockerWire.createBody(config))
        guard let id = try parseJSON(response)["Id"]?.stringValue, !id.isEmpty else {
            throw .serverError(status: response.status, message: "create: no Id in the daemon's reply")
        }
        return id
    }

    /// Throws `.notModified` when the container is already running.
    func startContainer(_ id: String) async throws(DockerError) {
        _ = try await call(.POST, "/containers/\(Self.segment(id))/start")
    }

    func inspectContainer(_ id: String) async throws(DockerError) -> ContainerDetails {
        let response = try await call(.GET, "/containers/\(Self.segment(id))/json")
        return DockerWire.containerDetails(try parseJSON(response))
    }

    /// Waits with `condition=not-running`: call it after `start`. On a container that was created
    /// but never started, or has already stopped, it returns at once (the code is then 0 or the
    /// last exit code). Stays open for as long as the container runs: no deadline, no idle bound.
    /// A failure the daemon reports inside the reply (`Error.Message`) throws `.serverError`.
    func waitContainer(_ id: String) async throws(DockerError) -> Int {
        let reply = Mutex<JSONValue?>(nil)
        try await streamLines(.POST, "/containers/\(Self.segment(id))/wait", query: [("condition", "not-running")],
                              timeout: nil, idleTimeout: Self.unboundedIdle) { line in
            guard let json = try? JSONParser.parse(Array(line)) else {
                return .failure(.serverError(status: 200, message: "wait: unreadable reply"))
            }
            reply.withLock { $0 = json }
            return .success(())
        }
        guard let json = reply.withLock({ $0 }), let code = json["StatusCode"]?.int64Value else {
            throw .daemonUnavailable("wait: the daemon closed the connection before the container stopped")
        }
        if let message = json["Error"]?["Message"]?.stringValue, !message.isEmpty {
            throw .serverError(status: 200, message: message)
        }
        return Int(code)
    }

    /// Throws `.notModified` when the container is not running. The call itself may take up to
    /// `graceSeconds` plus `callTimeout`.
    func stopContainer(_ id: String, graceSeconds: Int) async throws(DockerError) {
        let grace = max(0, graceSeconds)
        _ = try await call(.POST, "/containers/\(Self.segment(id))/stop", query: [("t", String(grace))],
                           timeout: configuration.callTimeout + .seconds(grace))
    }

    /// `signal` is a name (`SIGTERM`, `TERM`) or a number. A container that is not running is a
    /// `.conflict`.
    func killContainer(_ id: String, signal: String) async throws(DockerError) {
        _ = try await call(.POST, "/containers/\(Self.segment(id))/kill", query: [("signal", signal)])
    }

    /// Also removes the container's anonymous volumes (`v=1`); without `force`, a running
    /// container is a `.conflict`.
    func removeContainer(_ id: String, force: Bool) async throws(DockerError) {
        _ = try await call(.DELETE, "/containers/\(Self.segment(id))",
                           query: [("force", force ? "1" : "0"), ("v", "1")])
    }

    func listContainers(labels: [String: String], all: Bool) async throws(DockerError) -> [ContainerSummary] {
        var query: [(String, String)] = [("all", all ? "1" : "0")]
        if !labels.isEmpty { query.append(("filters", DockerWire.labelFilter(labels))) }
        let response = try await call(.GET, "/containers/json", query: query)
        guard case .array(let entries) = try parseJSON(response) else {
            throw .serverError(status: response.status, message: "list: expected an array from the daemon")
        }
        return entries.map(DockerWire.containerSummary)
    }

    /// stdout and stderr interleaved as written. `tailLines` < 0 returns the whole log; the reply
    /// is bounded by the HTTP client's body limit (64 MiB).
    func logs(_ id: String, tailLines: Int) async throws(DockerError) -> String {
        let tail = tailLines < 0 ? "all" : String(tailLines)
        let response = try await call(.GET, "/containers/\(Self.segment(id))/logs",
                                      query: [("stdout", "1"), ("stderr", "1"), ("tail", tail)])
        let bytes = DockerLogFrames.demultiplex(response.bodyBytes) ?? response.bodyBytes
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A container id or name as one path segment.
    static func segment(_ id: String) -> String { DockerWire.escape(id) }
}
