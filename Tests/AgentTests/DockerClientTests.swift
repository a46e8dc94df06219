@testable import Agent
import Synchronization
import Testing

/// `DockerClient` against the real engine (see `DockerTestEnvironment`). Every container carries
/// its test's scope label and is removed when the test ends.
@Suite struct DockerClientTests {
    typealias Env = DockerTestEnvironment

    @Test func pingAndVersionNegotiation() async throws {
        guard let probe = await Env.client() else { return }
        let docker = DockerClient(socketPath: probe.configuration.socketPath)
        #expect(docker.apiVersion == nil)
        try await docker.ping()
        let version = try await docker.version()
        let daemon = try #require(DockerAPIVersion(version.apiVersion))
        #expect(docker.apiVersion == min(daemon, DockerClient.maximumAPIVersion))
        #expect(docker.apiVersion! >= DockerClient.minimumAPIVersion)
        #expect(!version.version.isEmpty)
    }

    @Test func firstCallNegotiatesTheVersion() async throws {
        guard let docker = await Env.client() else { return }
        let fresh = DockerClient(socketPath: docker.configuration.socketPath)
        _ = try await fresh.listContainers(labels: [DockerTestScope.labelKey: "none"], all: true)
        #expect(fresh.apiVersion != nil)
    }

    @Test func inspectImage() async throws {
        guard let docker = await Env.client() else { return }
        #expect(try await docker.inspectImage("fuller-test/no-such-image:404") == nil)
        let image = try #require(try await docker.inspectImage(Env.image))
        #expect(image.id.hasPrefix("sha256:"))
    }

    @Test func pullOfAnUnreachableImageCarriesTheDaemonsMessage() async throws {
        guard let docker = await Env.client() else { return }
        let error = await dockerError { try await docker.pullImage("registry.invalid/fuller/none:1") }
        guard case .serverError(_, let message)? = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(message.contains("registry.invalid"))
    }

    @Test func createShowsConfigInInspect() async throws {
        try await Env.withScope { s in
            var config = s.config(["sleep", "5"], labels: ["fuller.task": "t-1"])
            config.env = ["FULLER_TASK_ID": "t-1", "EMPTY": "", "WITH_EQUALS": "a=b"]
            config.nanoCPUs = 500_000_000
            config.memoryBytes = 64 << 20
            config.memorySwapBytes = 64 << 20
            config.hostname = "task-1"
            let id = try await s.create("config", config)
            let details = try await s.docker.inspectContainer(id)
            #expect(details.id == id)
            #expect(details.name == s.name("config"))
            // The image's labels are merged in.
            #expect(details.labels.filter { config.labels[$0.key] != nil } == config.labels)
            #expect(details.env["FULLER_TASK_ID"] == "t-1")
            #expect(details.env["EMPTY"] == "")
            #expect(details.env["WITH_EQUALS"] == "a=b")
            #expect(details.env["PATH"] == "/bin")  // From the image.
            #expect((details.nanoCPUs, details.memoryBytes, details.memorySwapBytes) == (500_000_000, 64 << 20, 64 << 20))
            #expect(details.image == Env.image)
            #expect((details.status, details.running, details.exitCode) == ("created", false, 0))
            #expect(details.startedAt == nil && details.finishedAt == nil)
            #expect(details.ipAddress == nil && details.health == nil && !details.oomKilled)
        }
    }

    @Test func createWithANameInUseIsAConflict() async throws {
        try await Env.withScope { s in
            _ = try await s.create("dup", s.config(["true"]))
            let error = await dockerError { _ = try await s.create("dup", s.config(["true"])) }
            guard case .conflict(let message)? = error else { Issue.record("expected a conflict: \(String(describing: error))"); return }
            #expect(message.contains(s.name("dup")))
        }
    }

    @Test func createOfAMissingImageIsNotFound() async throws {
        try await Env.withScope { s in
            var config = s.config(["true"])
            config.image = "fuller-test/no-such-image:404"
            await #expect(throws: DockerError.notFound("No such image: fuller-test/no-such-image:404")) {
                _ = try await s.create("noimage", config)
            }
        }
    }

    @Test func waitReturnsTheExitCode() async throws {
        try await Env.withScope { s in
            let id = try await s.run("exit3", "exit 3")
            #expect(try await s.docker.waitContainer(id) == 3)
            let details = try await s.docker.inspectContainer(id)
            #expect((details.status, details.running, details.exitCode) == ("exited", false, 3))
            #expect(details.startedAt != nil && details.finishedAt != nil)
            #expect(details.finishedAt!.hasPrefix("20"))
            // Once it has stopped, wait answers at once with the same code.
            #expect(try await s.docker.waitContainer(id) == 3)
        }
    }

    @Test func stopEscalatesToSIGKILLAfterTheGrace() async throws {
        try await Env.withScope { s in
            let id = try await s.run("stop", "trap '' TERM; sleep 60 & wait")
            let running = try await s.docker.inspectContainer(id)
            #expect(running.running && running.status == "running")
            #expect(running.ipAddress != nil)
            await #expect(throws: DockerError.notModified) { try await s.docker.startContainer(id) }
            let clock = ContinuousClock()
            let elapsed = try await clock.measure { try await s.docker.stopContainer(id, graceSeconds: 1) }
            // The upper bound leaves room for an engine busy with the parallel tests' containers.
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(15), "stop took \(elapsed)")
            let stopped = try await s.docker.inspectContainer(id)
            #expect((stopped.running, stopped.exitCode, stopped.oomKilled) == (false, 137, false))
            await #expect(throws: DockerError.notModified) { try await s.docker.stopContainer(id, graceSeconds: 1) }
        }
    }

    /// A stop's reply comes after the grace period, which may be longer than a short call's deadline.
    @Test func stopMayOutlastTheCallTimeout() async throws {
        try await Env.withScope { s in
            var configuration = DockerClient.Configuration(socketPath: s.docker.configuration.socketPath)
            configuration.callTimeout = .seconds(3)
            let docker = DockerClient(configuration: configuration)
            let id = try await s.run("stop-long", "sleep 60")
            // The grace (PID 1 ignores SIGTERM, so all of it passes) is longer than the call
            // timeout; the deadline is both, with 3 s for an engine busy with other tests.
            try await docker.stopContainer(id, graceSeconds: 5)
            let details = try await docker.inspectContainer(id)
            #expect(!details.running && details.exitCode == 137)
        }
    }

    @Test func killSendsTheSignal() async throws {
        try await Env.withScope { s in
            let id = try await s.run("kill", "sleep 60")
            try await s.docker.killContainer(id, signal: "SIGKILL")
            #expect(try await s.docker.waitContainer(id) == 137)
            let error = await dockerError { try await s.docker.killContainer(id, signal: "SIGKILL") }
            guard case .conflict(let message)? = error else { Issue.record("expected a conflict: \(String(describing: error))"); return }
            #expect(message.contains("is not running"))
        }
    }

    @Test func removeNeedsForceWhileRunning() async throws {
        try await Env.withScope { s in
            let id = try await s.run("remove", "sleep 60")
            let running = await dockerError { try await s.docker.removeContainer(id, force: false) }
            guard case .conflict? = running else { Issue.record("expected a conflict: \(String(describing: running))"); return }
            try await s.docker.removeContainer(id, force: true)
            let inspect = await dockerError { _ = try await s.docker.inspectContainer(id) }
            guard case .notFound(let message)? = inspect else { Issue.record("expected not found: \(String(describing: inspect))"); return }
            #expect(message.contains(id))
            let again = await dockerError { try await s.docker.removeContainer(id, force: true) }
            guard case .notFound? = again else { Issue.record("expected not found: \(String(describing: again))"); return }
        }
    }

    @Test func listFiltersByLabel() async throws {
        try await Env.withScope { s in
            let a = try await s.create("list-a", s.config(["true"], labels: ["fuller.role": "a"]))
            let b = try await s.create("list-b", s.config(["true"], labels: ["fuller.role": "b"]))
            let mine = try await s.docker.listContainers(labels: s.labels, all: true)
            #expect(Set(mine.map(\.id)) == [a, b])
            #expect(mine.allSatisfy { $0.state == "created" && $0.labels[DockerTestScope.labelKey] == s.id })
            let onlyA = try await s.docker.listContainers(labels: s.labels.merging(["fuller.role": "a"]) { $1 }, all: true)
            #expect(onlyA.map(\.id) == [a])
            #expect(onlyA.first?.names == [s.name("list-a")])
            #expect(try await s.docker.listContainers(labels: s.labels, all: false).isEmpty)
        }
    }

    @Test func logsDemultiplexStdoutAndStderr() async throws {
        try await Env.withScope { s in
            let id = try await s.run("logs", "echo out1; echo err1 >&2; echo out2; printf 'err2\\n' >&2")
            #expect(try await s.docker.waitContainer(id) == 0)
            let all = try await s.docker.logs(id, tailLines: -1)
            #expect(all.split(separator: "\n").sorted() == ["err1", "err2", "out1", "out2"])
            #expect(all.hasSuffix("\n"))
            let tail = try await s.docker.logs(id, tailLines: 1)
            #expect(tail == "err2\n" || tail == "out2\n")  // One line per stream's tail order is the daemon's.
            #expect(try await s.docker.logs(id, tailLines: 0) == "")
        }
    }

    @Test func eventsSeeStartAndDie() async throws {
        try await Env.withScope { s in
            let id = try await s.create("events", s.config(["sh", "-c", "exit 7"]))
            let seen = Mutex<[DockerEvent]>([])
            let docker = s.docker
            let labels = s.labels
            async let stream: Void = withTimeLimit(.seconds(15)) {
                try await docker.events(labels: labels) { event in
                    seen.withLock { $0.append(event) }
                    return !(event.id == id && event.action == "die")
                }
            }
            try await s.docker.startContainer(id)
            try await stream
            let mine = seen.withLock { $0 }.filter { $0.id == id }
            #expect(mine.map(\.action).contains("start"))
            let die = try #require(mine.last)
            #expect(die.action == "die" && die.type == "container")
            #expect(die.attributes["exitCode"] == "7")
            #expect(die.attributes[DockerTestScope.labelKey] == s.id)
            #expect(die.timeNanoseconds > 1_600_000_000 * 1_000_000_000)
        }
    }

    @Test func cancellingEventsEndsThem() async throws {
        guard let docker = await Env.client() else { return }
        let stream = Task {
            await dockerError { try await docker.events(labels: [DockerTestScope.labelKey: "never"]) { _ in true } }
        }
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let start = clock.now
        stream.cancel()
        let error = await stream.value
        #expect(clock.now - start < .seconds(2))
        guard case .daemonUnavailable? = error else { Issue.record("unexpected \(String(describing: error))"); return }
    }

    /// Waits and an event stream, more of them than short calls allowed at once, leave short
    /// calls free: they use their own connections.
    @Test func longLivedCallsDoNotHoldUpShortOnes() async throws {
        try await Env.withScope { s in
            var configuration = DockerClient.Configuration(socketPath: s.docker.configuration.socketPath)
            configuration.maxCalls = 1
            configuration.callTimeout = .seconds(5)
            let docker = DockerClient(configuration: configuration)
            let id = try await s.run("long", "sleep 60")
            let labels = s.labels
            let events = Task { try await docker.events(labels: labels) { _ in true } }
            defer { events.cancel() }
            async let waits = withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 { group.addTask { try await docker.waitContainer(id) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                for _ in 0..<5 {
                    let details = try await docker.inspectContainer(id)
                    #expect(details.running)
                }
            }
            #expect(elapsed < .seconds(2), "short calls took \(elapsed)")
            try await docker.killContainer(id, signal: "KILL")
            #expect(try await waits == [137, 137, 137])
        }
    }

    @Test func memoryLimitEndsInOOMKill() async throws {
        try await Env.withScope { s in
            // The pauses are for the daemon: containerd watches a container for OOM only once it
            // has started (an OOM in the first moments goes unseen), and Docker 20.10 records
            // OOMKilled only when that notice comes before the container's exit.
            var config = s.config(["sh", "-c", "sleep 0.5; head -c 64m /dev/zero | tail; code=$?; sleep 0.5; exit $code"])
            config.memoryBytes = 16 << 20
            config.memorySwapBytes = 16 << 20
            let id = try await s.create("oom", config)
            try await s.docker.startContainer(id)
            #expect(try await s.docker.waitContainer(id) == 137)
            let details = try await s.docker.inspectContainer(id)
            #expect(details.oomKilled)
            #expect(details.exitCode == 137)
        }
    }

    @Test func healthStatusIsReported() async throws {
        try await Env.withScope { s in
            var config = s.config(["sleep", "30"])
            config.healthcheck = ContainerHealthcheck(test: ["CMD", "true"], intervalNanoseconds: 100_000_000,
                                                      timeoutNanoseconds: 1_000_000_000, retries: 1,
                                                      startPeriodNanoseconds: 0)
            let id = try await s.create("health", config)
            try await s.docker.startContainer(id)
            var health: String?
            for _ in 0..<50 {
                health = try await s.docker.inspectContainer(id).health
                if health == "healthy" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(health == "healthy")
        }
    }

    @Test func missingSocketIsDaemonUnavailable() async throws {
        let docker = DockerClient(socketPath: "/nonexistent/fuller/docker.sock")
        for error in [await dockerError { try await docker.ping() },
                      await dockerError { _ = try await docker.inspectContainer("x") }] {
            guard case .daemonUnavailable(let message)? = error else { Issue.record("unexpected \(String(describing: error))"); continue }
            #expect(message.contains("/nonexistent/fuller/docker.sock"))
        }
    }
}
