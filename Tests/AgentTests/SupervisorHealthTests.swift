import Testing
@testable import Agent
import Model
import Shared

/// Health checks in the supervisor: who probes, when, and what the reports say.
@Suite struct SupervisorHealthTests {
    static func task(_ id: String, _ check: HealthCheck) -> TaskAssignment {
        var task = Assignments.task(id)
        task.container.healthCheck = check
        return task
    }

    static let http = HealthCheck(probe: .http(port: 8080, path: "/ready"), intervalSeconds: 5, timeoutSeconds: 2, retries: 2)

    func probes(_ h: SupervisorHarness) -> Int { h.performed.filter(\.isProbe).count }

    @Test func anHTTPCheckIsProbedByTheAgentAtTheContainersAddress() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Self.task("t1", Self.http)]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        let probe = try #require(h.performed.first { $0.isProbe })
        #expect(probe == .probe(taskId: "t1", containerId: id,
                                .init(host: "172.17.0.9", port: 8080, path: "/ready", timeout: .seconds(2))))
        #expect(h.report("t1")?.health == "healthy")
        // The image's own HEALTHCHECK is switched off: only the job's check judges.
        let create = try #require(h.performed.compactMap { if case .create(_, _, let c) = $0 { c } else { nil } }.first)
        #expect(create.healthcheck?.test == ["NONE"])
    }

    @Test func failingProbesMakeTheTaskUnhealthyAfterRetriesAndASuccessHealsIt() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Self.task("t1", Self.http)]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.docker.failingProbes = [id]
        var count = probes(h)
        h.advance(seconds: 4)
        h.tick()
        #expect(probes(h) == count, "not due before the interval")
        h.advance(seconds: 1)
        h.tick()
        #expect(probes(h) == count + 1)
        #expect(h.report("t1")?.health == "healthy", "one failure of two allowed")
        let version = h.supervisor.reportsVersion
        h.advance(seconds: 5)
        h.tick()
        #expect(h.report("t1")?.health == "unhealthy")
        #expect(h.supervisor.reportsVersion > version, "the change is sent at once")
        h.docker.failingProbes = []
        count = probes(h)
        h.advance(seconds: 5)
        h.tick()
        #expect(probes(h) == count + 1 && h.report("t1")?.health == "healthy")
    }

    @Test func anExecCheckIsDockersHealthcheckAndDockersStatusIsReported() throws {
        var h = SupervisorHarness()
        h.start()
        let check = HealthCheck(probe: .exec(["test", "-f", "/ok"]), intervalSeconds: 3, timeoutSeconds: 2, retries: 4,
                                startPeriodSeconds: 7)
        h.heartbeat(Assignments.answer([Self.task("t1", check)]))
        #expect(!h.performed.contains { $0.isProbe })
        let create = try #require(h.performed.compactMap { if case .create(_, _, let c) = $0 { c } else { nil } }.first)
        #expect(create.healthcheck == ContainerHealthcheck(test: ["CMD", "test", "-f", "/ok"], intervalNanoseconds: 3_000_000_000,
                                                           timeoutNanoseconds: 2_000_000_000, retries: 4,
                                                           startPeriodNanoseconds: 7_000_000_000))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.docker.containers[id]!.health = "unhealthy"
        h.event(id)
        #expect(h.report("t1")?.health == "unhealthy")
    }

    @Test func noProbesForAKilledTaskOrAStoppedContainer() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Self.task("t1", Self.http)]))
        h.heartbeat(Assignments.answer([], kills: ["t1"], version: 2))
        let count = probes(h)
        h.advance(seconds: 60)
        h.tick()
        #expect(probes(h) == count)
        #expect(h.report("t1")?.state == .finished && h.report("t1")?.health == nil)
    }

    /// Its container gone, the attempt ends; no health outlives the container it was measured on.
    @Test func anUnhealthyContainerRemovedOutOfBandEndsItsAttemptWithoutHealth() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Self.task("t1", Self.http)]))
        let first = try #require(h.docker.id(ofTask: "t1"))
        h.docker.failingProbes = [first]
        for _ in 0..<2 {
            h.advance(seconds: 5)
            h.tick()
        }
        #expect(h.report("t1")?.health == "unhealthy")
        h.docker.containers[first] = nil
        h.run(h.supervisor.containerGone(first, now: h.now))
        let report = try #require(h.report("t1"))
        #expect(report.state == .finished && report.reason == .crashed && report.health == nil, "\(report)")
        #expect(h.docker.id(ofTask: "t1") == nil && h.creates == 1)
    }
}
