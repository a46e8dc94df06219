import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// Batch jobs through a real master, a real agent and the real engine: exit codes, retries,
/// limits, a missing image and a kill that races the start.
@Suite(.serialized) struct BatchEndToEndTests {
    @Test(.timeLimit(.minutes(1)))
    func exitZeroFinishesTheJobAndExitThreeIsRetriedOnceWithItsLastOutput() async throws {
        try await EndToEndCluster.run { cluster in
            let ok = try await cluster.submit(Jobs.batch("echo fine; exit 0"))
            let bad = try await cluster.submit(Jobs.batch("echo first line; echo last words; exit 3",
                                                          extra: #","retryPolicy":{"immediate":{"retries":1}}"#))
            let done = try await cluster.waitForTasks(ok, count: 1, "of the good job finished") { $0.isFinished }
            #expect(done[0].reason == "normal" && done[0].exitCode == 0)
            try await cluster.waitUntil("the good job Finished") { try await cluster.jobState(ok) == "Finished" }

            let attempts = try await cluster.waitForTasks(bad, count: 2, "of the bad job finished") { $0.isFinished }
            #expect(attempts.map(\.attempt).sorted() == [0, 1])
            for task in attempts {
                #expect(task.reason == "failed" && task.exitCode == 3, "\(task)")
                #expect(task.message?.contains("last words") == true, "message: \(task.message ?? "nil")")
            }
            try await cluster.waitUntil("the bad job Finished") { try await cluster.jobState(bad) == "Finished" }
            // Acknowledged finished tasks lose their containers.
            try await cluster.waitUntil("containers removed") { try await cluster.containers().isEmpty }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRuntimeLimitStopsTheTask() async throws {
        try await EndToEndCluster.run { cluster in
            let job = try await cluster.submit(Jobs.batch("sleep 60", extra: #","runtimeLimitSeconds":2"#))
            let tasks = try await cluster.waitForTasks(job, count: 1, "finished", timeout: .seconds(30)) { $0.isFinished }
            #expect(tasks[0].reason == "runtimeLimitExceeded", "\(tasks[0])")
            try await cluster.waitUntil("the job Finished") { try await cluster.jobState(job) == "Finished" }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aTaskOverItsMemoryLimitIsOOMKilled() async throws {
        try await EndToEndCluster.run { cluster in
            // `tail -n 1` keeps its whole last line in memory, and 64 MiB of zeros is one line.
            let job = try await cluster.submit(Jobs.batch("echo allocating; dd if=/dev/zero bs=1M count=64 | tail -n 1 >/dev/null",
                                                          memoryMB: 16))
            let tasks = try await cluster.waitForTasks(job, count: 1, "finished") { $0.isFinished }
            #expect(tasks[0].reason == "failed" && tasks[0].exitCode == 137, "\(tasks[0])")
            #expect(tasks[0].message?.contains("OOM") == true, "message: \(tasks[0].message ?? "nil")")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aMissingImageIsAnInvalidRequestWithTheDaemonsWords() async throws {
        try await EndToEndCluster.run { cluster in
            let job = try await cluster.submit(Jobs.batch("true", image: "fuller-test/nope:1"))
            let tasks = try await cluster.waitForTasks(job, count: 1, "finished", timeout: .seconds(45)) { $0.isFinished }
            #expect(tasks[0].reason == "invalidRequest", "\(tasks[0])")
            let message = tasks[0].message ?? ""
            #expect(message.contains("fuller-test/nope:1"), "message: \(message)")
            // The daemon's own words follow the image name (pull access denied, not found, …).
            #expect(message.count > "image fuller-test/nope:1 is missing".count + 10, "message: \(message)")
            #expect(try await cluster.containers().isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aKillRightAfterSubmitOrPlacementLeavesNothingRunning() async throws {
        try await EndToEndCluster.run { cluster in
            // Killed before the placement loop sees it, most likely.
            let early = try await cluster.submit(Jobs.batch("sleep 60"))
            try await cluster.killJob(early)
            // Killed the moment it is placed: the assignment and the kill race on the agent.
            let racing = try await cluster.submit(Jobs.batch("sleep 60"))
            try await cluster.wait("placement", pollInterval: .milliseconds(5)) {
                try await cluster.tasks(racing).first { $0.state != "Accepted" }
            }
            try await cluster.killJob(racing)
            for job in [early, racing] {
                let tasks = try await cluster.waitForTasks(job, count: 1, "finished") { $0.isFinished }
                #expect(tasks[0].reason == "killed", "\(tasks[0])")
                try await cluster.waitUntil("the job Finished") { try await cluster.jobState(job) == "Finished" }
            }
            // Whatever the agent got to create before the kill arrived is stopped and removed.
            try await cluster.waitUntil("no containers") { try await cluster.containers().isEmpty }
        }
    }
}
