@testable import Agent
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Docker Engine that tests run containers on, found once per test.
///
/// `Tests/docker-env.sh` (run by `Tests/run.sh`) starts the engine and builds `image`. When no
/// engine answers, or the image is missing, a test gets nil and returns at once: in CI
/// (`CI=true`) that is a recorded failure, elsewhere a printed warning, since Swift Testing cannot
/// skip a test once it runs.
enum DockerTestEnvironment {
    static let image = "fuller-test/busybox:1"
    static let socketPath = environment("FULLER_DOCKER_SOCKET") ?? DockerClient.defaultSocketPath
    static var isCI: Bool { environment("CI") == "true" }

    /// A client for the engine, or nil (after reporting why) when there is none.
    static func client(sourceLocation: SourceLocation = #_sourceLocation) async -> DockerClient? {
        let docker = DockerClient(socketPath: socketPath)
        let problem: String
        do {
            try await docker.ping()
            _ = try await docker.version()
            if try await docker.inspectImage(image) != nil { return docker }
            problem = "the test image \(image) is missing"
        } catch {
            problem = "Docker Engine not reachable at \(socketPath) (\(error))"
        }
        let fix = "run `bash Tests/docker-env.sh`"
        if isCI {
            Issue.record("\(problem); CI requires it: \(fix)", sourceLocation: sourceLocation)
        } else {
            print("⚠️  SKIPPED \(sourceLocation.fileName):\(sourceLocation.line): \(problem); \(fix) to run the Docker tests")
        }
        return nil
    }

    /// Runs `body` with a scope whose containers are all removed afterwards, thrown error or not.
    /// Does nothing (see `client`) without an engine.
    static func withScope(sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: (DockerTestScope) async throws -> Void) async throws {
        guard let docker = await client(sourceLocation: sourceLocation) else { return }
        let scope = DockerTestScope(docker: docker)
        do {
            try await body(scope)
        } catch {
            await scope.removeAll()
            throw error
        }
        await scope.removeAll()
    }

    /// Removes every container carrying `labels`: a test's teardown, however the test ended.
    ///
    /// It runs in a task of its own, because a test cancelled by its time limit has its engine
    /// calls cancelled too and would leave everything behind. A just-killed agent's last create
    /// or start may still be inside the engine when the first list is taken and land after it,
    /// so it lists again until two lists `settle` apart find nothing, for at most `limit`.
    /// Returns what went wrong, or nil. `afterPass` runs after each pass with its number (tests).
    static func removeContainers(labelled labels: [String: String], docker: DockerClient,
                                 settle: Duration = .seconds(1), limit: Duration = .seconds(20),
                                 afterPass: @escaping @Sendable (Int) async -> Void = { _ in }) async -> String? {
        await Task {
            let deadline = ContinuousClock.now + limit
            var emptyLists = 0
            var problem: String?
            var passes = 0
            while emptyLists < 2 && ContinuousClock.now < deadline {
                switch await removePass(labels, docker: docker) {
                case .success(let found):
                    emptyLists = found == 0 ? emptyLists + 1 : 0
                    problem = nil
                case .failure(let error):
                    problem = "\(error)"
                }
                passes += 1
                await afterPass(passes)
                if emptyLists < 2 { try? await Task.sleep(for: settle) }
            }
            return emptyLists < 2 ? problem ?? "containers labelled \(labels) still appear after \(limit)" : nil
        }.value
    }

    /// Lists the containers carrying `labels` and removes them; how many it found.
    private static func removePass(_ labels: [String: String], docker: DockerClient) async -> Result<Int, DockerError> {
        let containers: [ContainerSummary]
        do throws(DockerError) { containers = try await docker.listContainers(labels: labels, all: true) } catch {
            return .failure(error)
        }
        for container in containers {
            do throws(DockerError) { try await docker.removeContainer(container.id, force: true) } catch {
                if case .notFound = error { continue }
                return .failure(error)
            }
        }
        return .success(containers.count)
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// One test's containers: each carries a label unique to this scope, so tests running in
/// parallel never see (or remove) each other's.
struct DockerTestScope: Sendable {
    static let labelKey = "fuller.test.scope"
    let docker: DockerClient
    let id = String(UInt64.random(in: 0...UInt64.max), radix: 16)

    var labels: [String: String] { [Self.labelKey: id] }

    /// A container name unique to this scope.
    func name(_ suffix: String) -> String { "fuller-test-\(id)-\(suffix)" }

    /// A config for the test image running `command`, labelled for this scope.
    func config(_ command: [String], labels extra: [String: String] = [:]) -> ContainerCreateConfig {
        ContainerCreateConfig(image: DockerTestEnvironment.image, command: command,
                              labels: labels.merging(extra) { _, new in new })
    }

    /// Creates a container named `name(suffix)` and returns its id.
    func create(_ suffix: String, _ config: ContainerCreateConfig) async throws -> String {
        try await docker.createContainer(name: name(suffix), config)
    }

    /// Creates and starts `sh -c script`.
    func run(_ suffix: String, _ script: String) async throws -> String {
        let id = try await create(suffix, config(["sh", "-c", script]))
        try await docker.startContainer(id)
        return id
    }

    func removeAll() async {
        if let problem = await DockerTestEnvironment.removeContainers(labelled: labels, docker: docker, settle: .milliseconds(100)) {
            Issue.record("cleaning up the containers labelled \(Self.labelKey)=\(id): \(problem)")
        }
    }
}

/// Runs `body`, failing with `TestTimeout` if it takes longer than `limit` (the body is cancelled).
func withTimeLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TestTimeout(limit: limit) }
        return value
    }
}

/// A body given to `withTimeLimit` ran too long.
struct TestTimeout: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "timed out after \(limit)" }
}

/// The `DockerError` that `body` throws; nil, with a recorded issue, when it throws nothing or
/// something else.
func dockerError(sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () async throws -> Void) async -> DockerError? {
    do {
        try await body()
        Issue.record("expected a DockerError; the call succeeded", sourceLocation: sourceLocation)
    } catch let error as DockerError {
        return error
    } catch {
        Issue.record("expected a DockerError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
