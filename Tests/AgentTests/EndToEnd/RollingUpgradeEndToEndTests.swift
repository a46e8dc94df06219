import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// docs/deployment.md's rolling upgrade, for real on loopback: three masters and an agent, all with tokens,
/// a service running two containers, and a client submitting jobs the whole time. Each master
/// is stopped with SIGTERM (a leader hands over first) and started again, one at a time; then
/// the agent. Jobs keep being accepted (a redirect or a brief 503 is retried, with the same
/// `Idempotency-Key`), and the containers keep running with the same ids.
@Suite(.serialized) struct RollingUpgradeEndToEndTests {
    static let peerToken = "peer-token-rolling-0a1b2c3d"
    static let submitToken = "submit-token-rolling-4e5f6a7b"

    /// The longest a submission may take, first attempt to acceptance, while masters restart.
    static let acceptWithin: Duration = .seconds(5)

    @Test(.timeLimit(.minutes(4)))
    func mastersOneByOneThenTheAgent() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let agentId = AgentProcess.uniqueId("rolling")
        let agentToken = "agent-token-rolling-8c9d0e1f"
        try """
        submit ci      \(Self.submitToken)
        agent  \(agentId) \(agentToken)
        peer   masters \(Self.peerToken)
        """.write(toFile: dir.path + "/master-tokens", atomically: true, encoding: .utf8)
        try "master masters master-token-rolling-4e5f6a7b\n".write(toFile: dir.path + "/agent-tokens", atomically: true, encoding: .utf8)

        let group = try ClusterProcesses(directory: dir.path)
        defer { group.stopAll() }
        try group.start(extraArguments: ["--fsync=false", "--token-file", dir.path + "/master-tokens", "--peer-token", Self.peerToken])
        let client = GroupClient(urls: group.members.map(\.url), token: Self.submitToken)
        defer { client.shutdown() }
        let agent = try AgentProcess(id: agentId, masters: group.members.map(\.url), dataDirectory: dir.path + "/agent",
                                     extraArguments: EndToEndCluster.agentResources + ["--token-file", dir.path + "/agent-tokens"],
                                     environment: ["FULLER_TOKEN": agentToken])
        do {
            try await run(group, agent, client, docker)
        } catch {
            print(group.logs())
            print("--- agent ---\n\(agent.recentLog.suffix(4_000))")
            agent.kill(SIGKILL)
            await Self.removeContainers(of: agent, docker)
            throw error
        }
        agent.kill(SIGKILL)
        await Self.removeContainers(of: agent, docker)
    }

    private func run(_ group: ClusterProcesses, _ agent: AgentProcess, _ client: GroupClient, _ docker: DockerClient) async throws {
        let service = try await Self.submit(client, Jobs.service(ServiceEndToEndTests.script, desired: 2, retries: 0), key: "svc")
        let before = try await Self.waitForStarted(client, service, count: 2, agent: agent, docker)

        let submitter = Submitter(client: client)
        let load = Task { await submitter.run() }
        var handovers = 0
        for member in group.members {
            let acceptedBefore = submitter.acceptedCount
            let leader = try await client.json(.GET, "/v1/cluster")["leader"]
            member.kill(SIGTERM)
            if leader == .string(member.name) {
                // The leader hands over before it stops, so no election timeout passes.
                #expect(member.recentLog.contains("leadership handed over"), "\(member.name) stopped without handing over")
                handovers += 1
            }
            try member.restart()
            try await Self.waitUntilCaughtUp(client, group)
            try await Self.eventually("jobs accepted again after restarting \(member.name)") {
                submitter.acceptedCount > acceptedBefore
            }
        }
        #expect(handovers >= 1, "the leader was never among the restarted masters")
        agent.kill(SIGTERM)
        try agent.start()
        try await Self.eventually("the restarted agent ready", timeout: .seconds(30)) {
            let http = try HTTPClient(url: agent.url)
            defer { http.shutdown() }
            return try await http.send(.GET, "/readyz", timeout: .seconds(2)).status == 200
        }
        submitter.stop()
        await load.value

        let outcome = submitter.outcome
        #expect(outcome.failures == [], "submissions refused")
        print("rolling upgrade: \(outcome.accepted.count) jobs accepted, slowest \(outcome.slowest) from first attempt")
        #expect(outcome.accepted.count > group.members.count, "only \(outcome.accepted.count) jobs accepted")
        #expect(outcome.slowest <= Self.acceptWithin, "a submission took \(outcome.slowest) to be accepted")
        for id in outcome.accepted {
            #expect(try await client.send(.GET, "/v1/jobs/\(id)").status == 200, "accepted job \(id) is gone")
        }
        // The same tasks, in the same containers, still running; nothing replaced.
        let after = try await Self.waitForStarted(client, service, count: 2, agent: agent, docker)
        #expect(after.map(\.id).sorted() == before.map(\.id).sorted())
        #expect(Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0.containerId) })
                == Dictionary(uniqueKeysWithValues: before.map { ($0.id, $0.containerId) }))
        // The new leader and the restarted agent still work together: one more task starts.
        let scaled = try await client.send(.PUT, "/v1/jobs/\(service)/capacity", body: #"{"min":0,"desired":3,"max":10}"#)
        #expect(scaled.status == 200)
        _ = try await Self.waitForStarted(client, service, count: 3, agent: agent, docker)
    }

    // MARK: Steps

    static func submit(_ client: GroupClient, _ body: String, key: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let r = try? await client.send(.POST, "/v1/jobs", body: body, headers: ["Idempotency-Key": key])
            if let r, r.status == 201 || r.status == 200, case .string(let id)? = try JSONParser.parse(r.bodyBytes)["id"] { return id }
            guard ContinuousClock.now < deadline else { throw TestFailure("submit \(key): \(r.map { "\($0.status)" } ?? "no answer")") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until `count` live tasks of `job` are Started, each in one running container.
    static func waitForStarted(_ client: GroupClient, _ job: String, count: Int, agent: AgentProcess,
                               _ docker: DockerClient) async throws -> [TaskView] {
        var result: [TaskView] = []
        try await eventually("\(count) tasks Started in running containers", timeout: .seconds(60)) {
            guard case .array(let items)? = try await client.json(.GET, "/v1/tasks?jobId=\(job)")["items"] else { return false }
            let live = try items.map(TaskView.init).filter(\.isLive)
            guard live.count == count, live.allSatisfy({ $0.state == "Started" }) else { return false }
            for task in live {
                let containers = try await docker.listContainers(labels: [Supervisor.agentLabel: agent.id, Supervisor.taskLabel: task.id],
                                                                 all: true)
                guard containers.count == 1, containers[0].state == "running", containers[0].id == task.containerId else { return false }
            }
            result = live
            return true
        }
        return result
    }

    /// Waits until the leader reports every member with a lag of at most a few entries.
    static func waitUntilCaughtUp(_ client: GroupClient, _ group: ClusterProcesses) async throws {
        var last: JSONValue?
        do {
            try await eventually("every master caught up", timeout: .seconds(30)) {
                // Any master answers /v1/cluster; only the leader knows the others' lag.
                guard case .string(let leader)? = try await client.json(.GET, "/v1/cluster")["leader"] else { return false }
                let direct = GroupClient(urls: [group[leader].url], token: client.token)
                defer { direct.shutdown() }
                let view = try await direct.json(.GET, "/v1/cluster")
                last = view
                guard case .array(let members)? = view["members"], members.count == group.members.count else { return false }
                return members.allSatisfy { member in
                    if case .int(let lag)? = member["lag"] { return lag <= 16 }
                    return false
                }
            }
        } catch {
            throw TestFailure("\(error); last view: \(last.map { "\($0)" } ?? "none")")
        }
    }

    static func eventually(_ what: String, timeout: Duration = .seconds(20), _ probe: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do { if try await probe() { return } } catch { lastError = error }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
    }

    static func removeContainers(of agent: AgentProcess, _ docker: DockerClient) async {
        if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: agent.id], docker: docker) {
            Issue.record("removing the containers of agent \(agent.id): \(problem)")
        }
    }
}

/// Submits one empty service job after another until stopped, each retried (same key) until
/// accepted; records how long each took and any answer that is a refusal rather than a pause.
final class Submitter: Sendable {
    struct Outcome: Sendable {
        var accepted: [String] = []
        var failures: [String] = []
        var slowest: Duration = .zero
    }

    let client: GroupClient
    private let state = Mutex((outcome: Outcome(), stopped: false))
    static let job = #"{"name":"load","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":0.1,"memoryMB":16}},"service":{"capacity":{"min":0,"desired":0,"max":1}}}"#

    init(client: GroupClient) { self.client = client }

    var acceptedCount: Int { state.withLock { $0.outcome.accepted.count } }
    var outcome: Outcome { state.withLock { $0.outcome } }
    func stop() { state.withLock { $0.stopped = true } }

    func run() async {
        var sequence = 0
        while !state.withLock({ $0.stopped }) {
            sequence += 1
            await submitOne(key: "load-\(sequence)", start: sequence)
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private func submitOne(key: String, start: Int) async {
        let began = ContinuousClock.now
        for attempt in 0..<200 {
            // Masters answer 503 while no leader is known; a stopped one does not answer at all.
            if let r = try? await client.send(.POST, "/v1/jobs", body: Self.job, headers: ["Idempotency-Key": key],
                                              start: start + attempt, timeout: .seconds(3)), r.status != 503 {
                let elapsed = ContinuousClock.now - began
                state.withLock { s in
                    if (r.status == 201 || r.status == 200), case .string(let id)? = (try? JSONParser.parse(r.bodyBytes))?["id"] {
                        s.outcome.accepted.append(id)
                        s.outcome.slowest = max(s.outcome.slowest, elapsed)
                    } else {
                        s.outcome.failures.append("\(key): \(r.status) \(String(decoding: r.bodyBytes.prefix(200), as: UTF8.self))")
                    }
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        state.withLock { $0.outcome.failures.append("\(key): never accepted") }
    }
}
