import Testing
@testable import Agent
import Model
import Shared

/// What every task container is held to, against the real engine through the executor as the
/// agent runs it: no `NET_RAW` (no raw sockets, so no forged ARP), no new privileges, a pids
/// limit that a fork loop cannot pass, and json-file log rotation.
@Suite struct ContainerHardeningDockerTests {
    /// Opens an `AF_PACKET` socket, which needs `NET_RAW`; the applet is called through the
    /// busybox binary, which holds every applet.
    static let arping = ["sh", "-c", "busybox arping -c 1 -w 1 -I eth0 10.0.0.1; echo arping exited $?"]

    @Test(.timeLimit(.minutes(1)))
    func aTaskContainerCannotOpenARawSocketAndIsBounded() async throws {
        try await Self.withExecutor(Supervisor.Hardening()) { executor, docker, agentId in
            let report = try await Self.run(Assignments.task("\(agentId)-raw", command: Self.arping), executor)
            #expect(report.message?.contains("Operation not permitted") == true, "\(report)")
            let id = try #require(report.containerId)
            let host = try #require(try docker.parseJSON(try await docker.call(.GET, "/containers/\(id)/json"))["HostConfig"])
            #expect(host["CapDrop"] == .array([.string("NET_RAW")]), "\(host)")
            #expect(host["SecurityOpt"] == .array([.string("no-new-privileges")]), "\(host)")
            #expect(host["PidsLimit"]?.int64Value == 1_024)
            #expect(host["LogConfig"]?["Type"]?.stringValue == "json-file")
            #expect(host["LogConfig"]?["Config"]?["max-size"]?.stringValue == "10485760")
            #expect(host["LogConfig"]?["Config"]?["max-file"]?.stringValue == "3")
        }
    }

    /// The same command with `--allow-net-raw`: the socket opens, so the test above sees the
    /// dropped capability and not some other failure.
    @Test(.timeLimit(.minutes(1)))
    func withNetRawAllowedTheRawSocketOpens() async throws {
        var hardening = Supervisor.Hardening()
        hardening.capDrop = []
        try await Self.withExecutor(hardening) { executor, _, agentId in
            let report = try await Self.run(Assignments.task("\(agentId)-raw", command: Self.arping), executor)
            #expect(report.message?.contains("Operation not permitted") == false && report.message?.contains("Sent 1 probe") == true,
                    "\(report)")
        }
    }

    /// A fork loop of 64 sleeps in a container limited to 16 processes: the shell (one) and 15
    /// sleeps exist, then the fork fails and the task fails with it.
    @Test(.timeLimit(.minutes(1)))
    func thePidsLimitHoldsAgainstAForkLoop() async throws {
        var hardening = Supervisor.Hardening()
        hardening.pidsMax = 16
        try await Self.withExecutor(hardening) { executor, _, agentId in
            let loop = ["sh", "-c", "i=0; while [ $i -lt 64 ]; do sleep 30 & i=$((i+1)); echo spawned $i; done; echo spawned all"]
            let report = try await Self.run(Assignments.task("\(agentId)-forks", command: loop), executor)
            let message = report.message ?? ""
            #expect(report.reason == .failed && message.contains("can't fork") && !message.contains("spawned all"), "\(report)")
            let spawned = message.split(separator: "\n").compactMap { line in
                line.hasPrefix("spawned ") ? Int(line.dropFirst("spawned ".count)) : nil
            }
            #expect(spawned.max() == 15, "\(spawned)")
        }
    }

    // MARK: Helpers

    /// Applies `task` and waits for its Finished report.
    static func run(_ task: TaskAssignment, _ executor: Executor) async throws -> TaskReport {
        executor.apply(Assignments.answer([task]), requestSequence: 1)
        let report = { executor.state.withLock { $0.supervisor.reports.first { $0.taskId == task.taskId } } }
        #expect(await eventually(.seconds(30)) { report()?.state == .finished })
        return try #require(report())
    }

    static func withExecutor(_ hardening: Supervisor.Hardening,
                             _ body: @escaping @Sendable (Executor, DockerClient, String) async throws -> Void) async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let agentId = "test-hardening-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = Executor.Configuration()
        configuration.supervisor.agentId = agentId
        configuration.supervisor.hardening = hardening
        configuration.supervisor.stopGraceSeconds = 1
        configuration.tickInterval = .milliseconds(100)
        configuration.listInterval = .seconds(1)
        let executor = Executor(engine: docker, configuration: configuration, logger: Logger(component: "test", sink: CapturingLogSink()))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await executor.run() }
                try await body(executor, docker, agentId)
                group.cancelAll()
            }
        } catch {
            await ExecutorDockerTests.removeAll(docker, agentId: agentId)
            throw error
        }
        await ExecutorDockerTests.removeAll(docker, agentId: agentId)
    }
}
