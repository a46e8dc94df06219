import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The agent process dies and comes back, and containers it does not own appear: what it
/// adopts, what it reports, and what it cleans up.
@Suite(.serialized) struct AgentRestartEndToEndTests {
    @Test(.timeLimit(.minutes(2)))
    func aRestartedAgentAdoptsItsContainersAndReportsAnExitItMissed() async throws {
        try await EndToEndCluster.run { cluster in
            let service = try await cluster.submit(Jobs.service(ServiceEndToEndTests.script, desired: 2, retries: 0))
            try await ServiceEndToEndTests.waitForRunning(cluster, service, count: 2)
            let running = try await cluster.tasks(service)
            let batch = try await cluster.submit(Jobs.batch("echo batch ran; sleep 2; exit 5"))
            let batchTask = try await cluster.wait("the batch task Started") {
                try await cluster.tasks(batch).first { $0.state == "Started" }
            }

            cluster.agent.kill(SIGKILL)
            // The batch container exits while no agent watches it.
            try await cluster.waitUntil("the batch container exited", timeout: .seconds(20)) {
                try await cluster.containers(task: batchTask.id).first?.state == "exited"
            }
            #expect(try await cluster.task(batchTask.id).state == "Started", "the master cannot know yet")
            try cluster.agent.start()

            let finished = try await cluster.wait("the missed exit reported") {
                let task = try await cluster.task(batchTask.id)
                return task.isFinished ? task : nil
            }
            #expect(finished.reason == "failed" && finished.exitCode == 5, "\(finished)")
            #expect(finished.message?.contains("batch ran") == true, "message: \(finished.message ?? "nil")")
            try await cluster.waitUntil("the batch job Finished") { try await cluster.jobState(batch) == "Finished" }

            // The services were adopted, not restarted: same tasks, same containers, one each.
            for task in running {
                let now = try await cluster.task(task.id)
                #expect(now.state == "Started" && now.containerId == task.containerId, "\(now)")
                let containers = try await cluster.containers(task: task.id)
                #expect(containers.map(\.id) == [task.containerId].compactMap { $0 })
                #expect(containers.first?.state == "running")
            }
            #expect(try await cluster.tasks(service).count == 2, "no replacement tasks")
            try await cluster.waitUntil("the acknowledged batch container removed") {
                try await cluster.containers(task: batchTask.id).isEmpty
            }
            #expect(try await cluster.containers().count == 2)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aContainerOfNoTaskIsStoppedAndRemovedAfterTheOrphanGrace() async throws {
        try await EndToEndCluster.run { cluster in
            try await cluster.waitUntil("the agent ready") { await cluster.agentReadiness() == 200 }
            let labels = [Supervisor.managedLabel: "true", Supervisor.agentLabel: cluster.agent.id, Supervisor.taskLabel: "ghost-1"]
            let config = ContainerCreateConfig(image: DockerTestEnvironment.image, command: ["sleep", "60"], labels: labels)
            let created = ContinuousClock.now
            let id = try await cluster.docker.createContainer(name: "fuller-ghost-\(cluster.agent.id)", config)
            try await cluster.docker.startContainer(id)
            try await cluster.waitUntil("the orphan removed", timeout: .seconds(30)) {
                try await cluster.containers(task: "ghost-1").isEmpty
            }
            // The agent's orphan grace is 2 s (AgentProcess): it waited at least that long.
            #expect(ContinuousClock.now - created >= .seconds(2))
        }
    }
}
