import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// A service through a real master, a real agent and the real engine: scaling, a crashed
/// container replaced under the retry policy, and a kill that leaves nothing behind.
@Suite(.serialized) struct ServiceEndToEndTests {
    /// Exits at once on SIGTERM, so stops take no grace period.
    static let script = "trap exit TERM; while true; do sleep 0.2; done"

    @Test(.timeLimit(.minutes(2)))
    func keepsDesiredRunningThroughScalingACrashAndAKill() async throws {
        try await EndToEndCluster.run { cluster in
            let job = try await cluster.submit(Jobs.service(Self.script, desired: 2, retries: 1))
            try await Self.waitForRunning(cluster, job, count: 2)

            try await cluster.scale(job, min: 0, desired: 3, max: 10)
            try await Self.waitForRunning(cluster, job, count: 3)

            try await cluster.scale(job, min: 0, desired: 1, max: 10)
            let afterScaleDown = try await cluster.waitForTasks(job, count: 3, "settled at one running") { task in
                task.state == "Started" || (task.isFinished && task.reason == "scaledDown")
            }
            #expect(afterScaleDown.filter { $0.state == "Started" }.count == 1)
            try await cluster.waitUntil("scaled-down containers removed") { try await cluster.containers().count == 1 }

            // A container that dies under the agent is a failed task, replaced in the same slot.
            let survivor = try #require(afterScaleDown.first { $0.state == "Started" })
            let containerId = try #require(survivor.containerId)
            try await cluster.docker.killContainer(containerId, signal: "KILL")
            let crashed = try await cluster.wait("the crash reported") {
                try await cluster.task(survivor.id).isFinished ? try await cluster.task(survivor.id) : nil
            }
            #expect(crashed.reason == "failed" && crashed.exitCode == 137, "\(crashed)")
            let replacement = try await cluster.wait("a replacement running") {
                try await cluster.tasks(job).first { $0.index == survivor.index && $0.attempt == survivor.attempt + 1 && $0.state == "Started" }
            }
            #expect(replacement.containerId != containerId)
            try await cluster.waitUntil("the crashed container removed") {
                try await cluster.containers(task: survivor.id).isEmpty
            }

            try await cluster.killJob(job)
            try await cluster.waitUntil("the job Finished") { try await cluster.jobState(job) == "Finished" }
            let ended = try await cluster.tasks(job)
            #expect(ended.allSatisfy { $0.isFinished })
            #expect(ended.filter { $0.reason == "killed" }.map(\.id) == [replacement.id], "\(ended)")
            try await cluster.waitUntil("every container removed") { try await cluster.containers().isEmpty }
        }
    }

    /// Waits until `count` tasks run, each in exactly one running container.
    static func waitForRunning(_ cluster: EndToEndCluster, _ job: String, count: Int) async throws {
        try await cluster.waitUntil("\(count) tasks Started, one running container each") {
            let live = try await cluster.tasks(job).filter(\.isLive)
            guard live.count == count, live.allSatisfy({ $0.state == "Started" }) else { return false }
            for task in live {
                let containers = try await cluster.containers(task: task.id)
                guard containers.count == 1, containers[0].state == "running", containers[0].id == task.containerId else { return false }
            }
            return try await cluster.containers().count == count
        }
    }
}
