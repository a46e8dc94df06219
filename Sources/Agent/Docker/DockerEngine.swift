import Model
/// What the agent needs from a container engine: the Docker Engine API calls it makes, as a
/// protocol so the supervisor's shell can be tested against a fake and run against
/// `DockerClient` (the Engine API over `/var/run/docker.sock`).
protocol DockerEngine: Sendable {
    /// `GET /_ping`.
    func ping() async throws(DockerError)
    /// `GET /version`; also fixes the API version used for later calls.
    func version() async throws(DockerError) -> DockerVersion
    /// `GET /images/{name}/json`; nil when the image is not present.
    func inspectImage(_ reference: String) async throws(DockerError) -> DockerImage?
    /// `POST /images/create?fromImage=&tag=`; fails with the daemon's message when it cannot.
    func pullImage(_ reference: String) async throws(DockerError)
    /// `POST /containers/create?name=`; returns the new container's id.
    func createContainer(name: String, _ config: ContainerCreateConfig) async throws(DockerError) -> String
    func startContainer(_ id: String) async throws(DockerError)
    func inspectContainer(_ id: String) async throws(DockerError) -> ContainerDetails
    /// `POST /containers/{id}/wait`: blocks until the container stops; returns its exit code.
    func waitContainer(_ id: String) async throws(DockerError) -> Int
    /// `POST /containers/{id}/stop?t=`: SIGTERM, then SIGKILL after `graceSeconds`.
    func stopContainer(_ id: String, graceSeconds: Int) async throws(DockerError)
    func killContainer(_ id: String, signal: String) async throws(DockerError)
    func removeContainer(_ id: String, force: Bool) async throws(DockerError)
    /// `GET /containers/json?all=1&filters={"label":[...]}`.
    func listContainers(labels: [String: String], all: Bool) async throws(DockerError) -> [ContainerSummary]
    /// `GET /containers/{id}/logs?stdout=1&stderr=1&tail=N`, demultiplexed, as text.
    func logs(_ id: String, tailLines: Int) async throws(DockerError) -> String
    /// `GET /events?filters=...`: calls `onEvent` for each event until it returns false, the
    /// stream ends, or the daemon goes away (which throws).
    func events(labels: [String: String], onEvent: @escaping @Sendable (DockerEvent) -> Bool) async throws(DockerError)
}

/// Typed Engine API failures.
enum DockerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 404: no such container or image; the daemon's message.
    case notFound(String)
    /// 409: e.g. a container name already in use.
    case conflict(String)
    /// 400 with the daemon's message (an invalid config, an unknown signal, …).
    case badRequest(String)
    /// Any other failing status (5xx: cannot start, pull failed, …) with the daemon's message.
    case serverError(status: Int, message: String)
    /// The socket is missing, refuses, or the daemon stopped answering.
    case daemonUnavailable(String)
    /// 304 for start/stop of a container already in that state.
    case notModified

    var description: String {
        switch self {
        case .notFound(let m): "not found: \(m)"
        case .conflict(let m): "conflict: \(m)"
        case .badRequest(let m): "bad request: \(m)"
        case .serverError(let status, let m): "docker error \(status): \(m)"
        case .daemonUnavailable(let m): "docker daemon unavailable: \(m)"
        case .notModified: "not modified"
        }
    }
}

struct DockerVersion: Sendable, Equatable {
    var version: String
    /// The highest API version the daemon speaks, e.g. "1.41".
    var apiVersion: String
    var minAPIVersion: String
}

struct DockerImage: Sendable, Equatable {
    var id: String
}

/// The parts of `POST /containers/create` Fuller uses.
struct ContainerCreateConfig: Sendable, Equatable {
    var image: String
    var command: [String] = []
    var entrypoint: [String]?
    var env: [String: String] = [:]
    var labels: [String: String] = [:]
    var hostname: String?
    /// CPU limit in units of 1e-9 cores (`HostConfig.NanoCpus`).
    var nanoCPUs: Int64 = 0
    /// `HostConfig.Memory` in bytes; 0 = unlimited.
    var memoryBytes: Int64 = 0
    /// `HostConfig.MemorySwap`; equal to `memoryBytes` forbids swap.
    var memorySwapBytes: Int64 = 0
    /// A Docker `HEALTHCHECK` override (`Healthcheck`), if any.
    var healthcheck: ContainerHealthcheck?
    /// `HostConfig.Privileged`.
    var privileged = false
    /// Host paths bound into the container, written as `HostConfig.Binds` (`host:container[:ro]`).
    /// The executor resolves each `hostPath` (`AgentPolicy`) before the create is sent.
    var mounts: [Mount] = []
    /// `HostConfig.CapDrop`: capabilities taken from Docker's default set (`NET_RAW`).
    var capDrop: [String] = []
    /// `HostConfig.SecurityOpt` `no-new-privileges`: setuid binaries gain nothing.
    var noNewPrivileges = false
    /// `HostConfig.PidsLimit`; 0 leaves Docker's default (no limit).
    var pidsMax: Int64 = 0
    /// `HostConfig.LogConfig` json-file rotation (`max-size` in bytes, `max-file`); 0 leaves
    /// the daemon's default logging.
    var logFileBytesMax: Int64 = 0
    var logFilesMax = 0
}

struct ContainerHealthcheck: Sendable, Equatable {
    var test: [String]
    var intervalNanoseconds: Int64
    var timeoutNanoseconds: Int64
    var retries: Int
    var startPeriodNanoseconds: Int64
}

/// The parts of `GET /containers/{id}/json` Fuller uses.
struct ContainerDetails: Sendable, Equatable {
    var id: String
    var name: String
    var labels: [String: String]
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    var status: String
    var running: Bool
    var exitCode: Int
    /// Best effort: Docker 20.10 sets this only when containerd's OOM notice arrives before the
    /// exit, so it can stay false when the main process exits at once after an OOM kill (a shell
    /// whose child was killed), and an OOM in the first moments after start goes unseen. An
    /// `oom` event, or exit code 137 with a memory limit, is the better sign.
    var oomKilled: Bool
    /// The daemon's error for a container that failed to start.
    var error: String
    /// RFC 3339 with nanoseconds as Docker writes them, or nil when never started/finished.
    var startedAt: String?
    var finishedAt: String?
    var ipAddress: String?
    /// `starting`, `healthy`, `unhealthy`, or nil without a health check.
    var health: String?
    /// What the container was created with (`Config.Image`, `Config.Env`, `HostConfig`), so a
    /// restarted agent can compare a found container with the task it should run.
    var image: String = ""
    var env: [String: String] = [:]
    var nanoCPUs: Int64 = 0
    var memoryBytes: Int64 = 0
    var memorySwapBytes: Int64 = 0
    /// `Config.Hostname`: the container's host name (Docker's default is the short id).
    var hostname: String = ""
    /// The MAC address of the interface that holds `ipAddress`, lower case; the metadata
    /// endpoint checks a caller's link-layer address against it.
    var macAddress: String?
}

/// One entry of `GET /containers/json`.
struct ContainerSummary: Sendable, Equatable {
    var id: String
    var names: [String]
    var labels: [String: String]
    /// `created`, `running`, `exited`, …
    var state: String
}

/// One entry of the `/events` stream.
struct DockerEvent: Sendable, Equatable {
    /// `container`, `image`, `network`, …
    var type: String
    /// `create`, `start`, `die`, `oom`, `kill`, `destroy`, `health_status: healthy`, …
    var action: String
    /// The object's id (container id for container events).
    var id: String
    var attributes: [String: String]
    /// Unix nanoseconds.
    var timeNanoseconds: Int64
}
