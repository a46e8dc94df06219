import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The Docker daemon stops and starts again under a running agent. Only ever with a private
/// daemon (`PrivateDockerDaemon`): stopping the shared one would break everyone's tests.
@Suite(.serialized) struct DockerOutageEndToEndTests {
    @Test(.timeLimit(.minutes(2)))
    func anAgentRidesOutItsDockerDaemonRestarting() async throws {
        guard let daemon = await PrivateDockerDaemon.start() else { return }
        do {
            try await EndToEndCluster.run(docker: daemon.client, dockerSocket: daemon.socketPath) { cluster in
                try await Self.outage(cluster, daemon)
            }
        } catch {
            await daemon.tearDown()
            throw error
        }
        await daemon.tearDown()
    }

    static func outage(_ cluster: EndToEndCluster, _ daemon: PrivateDockerDaemon) async throws {
        try await cluster.waitUntil("the agent ready") { await cluster.agentReadiness() == 200 }
        // The retry delay keeps the replacement from racing the daemon's own shutdown: dockerd
        // may answer a start with a 500 then, which the agent still counts as the task failing.
        let job = try await cluster.submit(Jobs.service("trap 'exit 7' TERM; while true; do sleep 0.2; done", desired: 1,
                                                        retryPolicy: #"{"delayed":{"delayMs":3000,"retries":2}}"#))
        try await ServiceEndToEndTests.waitForRunning(cluster, job, count: 1)
        let original = try #require(try await cluster.tasks(job).first)

        // dockerd stops its containers as it goes (no live restore): the task's exits with 7,
        // which the agent may see before the daemon's API goes, or only after it is back.
        daemon.stopDaemon()
        try await cluster.waitUntil("/readyz 503") { await cluster.agentReadiness() == 503 }
        try await cluster.waitUntil("the agent unhealthy at the master") { try await cluster.agentState() == "unhealthy" }

        try await daemon.startDaemon()
        try await cluster.waitUntil("/readyz 200") { await cluster.agentReadiness() == 200 }
        try await cluster.waitUntil("the agent ready at the master") { try await cluster.agentState() == "ready" }
        // The agent lists again, finds the exited container and reports it: a failed service
        // task, replaced in its slot under the retry policy.
        let ended = try await cluster.wait("the stopped task reported") {
            let task = try await cluster.task(original.id)
            return task.isFinished ? task : nil
        }
        #expect(ended.reason == "failed" && ended.exitCode == 7, "\(ended)")
        _ = try await cluster.waitForTasks(job, count: 2, "the failed one and its replacement running") {
            $0.id == original.id || ($0.index == original.index && $0.attempt == 1 && $0.state == "Started")
        }
        try await ServiceEndToEndTests.waitForRunning(cluster, job, count: 1)
    }
}
