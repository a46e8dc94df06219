import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// A job's host mount and secret variables through a real master, agent and Docker Engine, with
/// the master's `--allow-host-mounts` and the agent's `--host-mount-allow`; the same job refused
/// without the first, and a path outside the second failing on the agent without running.
@Suite(.serialized) struct ContainerPolicyEndToEndTests {
    static let secret = "s3cret-\(UInt32.random(in: 0...UInt32.max))"

    static func job(hostDirectory: String) -> String {
        #"{"name":"mount","owner":"e2e@test","type":"batch","container":{"image":"\#(Jobs.image)","#
            + #""command":["sh","-c","test \"$API_KEY\" = \"$(cat /in/expected)\" && cat /in/hello.txt"],"#
            + #""secretEnv":{"API_KEY":"\#(secret)"},"#
            + #""mounts":[{"hostPath":"\#(hostDirectory)","containerPath":"/in"}],"#
            + #""resources":{"cpu":0.1,"memoryMB":32}},"batch":{"size":1}}"#
    }

    @Test(.timeLimit(.minutes(2)))
    func aMountedFileAndASecretReachTheContainer() async throws {
        let host = try TemporaryDirectory()
        defer { host.remove() }
        try "hello from the host\n".write(toFile: host.path + "/hello.txt", atomically: true, encoding: .utf8)
        // The expected value lives in the mounted directory, so the job's command does not hold it.
        try Self.secret.write(toFile: host.path + "/expected", atomically: true, encoding: .utf8)
        try await EndToEndCluster.run(agentArguments: ["--host-mount-allow", host.path], masterArguments: ["--allow-host-mounts"]) { cluster in
            let id = try await cluster.submit(Self.job(hostDirectory: host.path))
            let tasks = try await cluster.waitForTasks(id, count: 1, "Finished", timeout: .seconds(60)) { $0.isFinished }
            #expect(tasks[0].reason == "normal" && tasks[0].exitCode == 0, "\(tasks[0])")
            #expect(tasks[0].message?.contains("hello from the host") == true, "\(tasks[0])")
            let job = try await cluster.get("/v1/jobs/\(id)")
            #expect(!"\(job)".contains(Self.secret), "the secret is in GET /v1/jobs/{id}")
            #expect(!cluster.agent.recentLog.contains(Self.secret), "the secret is in the agent's log")
            let refused = try await cluster.api.send(.POST, "/v1/jobs", body: Array(Self.job(hostDirectory: "/var/run").utf8))
            #expect(refused.status == 403, "the directory holding the Docker socket")
            // The masters admit /etc; the agent's own allow-list does not, so the task never runs.
            let outside = try await cluster.submit(Self.job(hostDirectory: "/etc"))
            let failed = try await cluster.waitForTasks(outside, count: 1, "Finished", timeout: .seconds(60)) { $0.isFinished }
            #expect(failed[0].reason == "invalidRequest" && failed[0].message?.contains("--host-mount-allow") == true, "\(failed[0])")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func withoutThePolicyTheJobIsRefused() async throws {
        try await EndToEndCluster.run { cluster in
            let r = try await cluster.api.send(.POST, "/v1/jobs", body: Array(Self.job(hostDirectory: "/tmp").utf8))
            #expect(r.status == 403)
            #expect(String(decoding: r.bodyBytes, as: UTF8.self).contains("container.mounts[0].hostPath"))
        }
    }
}
