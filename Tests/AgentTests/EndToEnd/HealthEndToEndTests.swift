import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// Job health checks through a real master, a real agent and the real engine: the health the
/// agent finds shows on the task in the master's API.
@Suite(.serialized) struct HealthEndToEndTests {
    /// A service whose containers answer HTTP on 8080 with `status`, checked every second.
    static func job(status: String) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("name", "e2e-health"); w.field("owner", "e2e@test"); w.field("type", "service")
        w.key("container"); w.beginObject()
        w.field("image", DockerTestEnvironment.image)
        w.key("command")
        w.stringArray(["sh", "-c", "trap exit TERM; while true; do printf 'HTTP/1.0 \(status)\\r\\n\\r\\nok' | nc -l -p 8080; done"])
        w.key("resources"); w.beginObject(); w.field("cpu", 0.1); w.field("memoryMB", 64); w.endObject()
        w.key("healthCheck"); w.beginObject()
        w.key("http"); w.beginObject(); w.field("port", 8080); w.field("path", "/healthz"); w.endObject()
        w.field("intervalSeconds", 1); w.field("timeoutSeconds", 1); w.field("retries", 2)
        w.endObject()
        w.endObject()
        w.key("service"); w.beginObject()
        w.key("capacity"); w.beginObject(); w.field("min", 0); w.field("desired", 1); w.field("max", 1); w.endObject()
        w.endObject()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test(.timeLimit(.minutes(2)))
    func aTasksHealthShowsInTheMastersAPI() async throws {
        try await EndToEndCluster.run { cluster in
            let good = try await cluster.submit(Self.job(status: "200 OK"))
            let bad = try await cluster.submit(Self.job(status: "500 Internal Server Error"))
            for (job, health) in [(good, "healthy"), (bad, "unhealthy")] {
                try await cluster.waitUntil("\(job) \(health)") {
                    guard let task = try await cluster.tasks(job).first else { return false }
                    return try await cluster.get("/v1/tasks/\(task.id)")["health"]?.stringValue == health
                }
            }
        }
    }
}
