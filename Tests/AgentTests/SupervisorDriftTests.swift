import Testing
@testable import Agent
import Model
import Shared

/// Drift the supervisor repairs without being told: found on a list or a tick, not by an event.
@Suite struct SupervisorDriftTests {
    @Test func aSecondContainerForAnOwnedTaskIsStoppedAfterTheGraceAndTheFirstKept() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let own = try #require(h.docker.id(ofTask: "t1"))
        let copy = h.docker.add(task: "t1", status: "running")  // someone ran a copy by hand
        h.run(h.list())
        #expect(h.supervisor.unknownContainers == [copy])
        h.advance(seconds: 60)
        h.tick()
        #expect(h.docker.containers[copy] == nil && h.docker.containers[own]?.status == "running")
        #expect(h.report("t1")?.containerId == own && h.creates == 1)
    }

    @Test func aContainerThatVanishedWithoutAnEventFailsItsAttemptOnTheNextList() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let first = try #require(h.docker.id(ofTask: "t1"))
        h.docker.containers[first] = nil  // `docker rm -f` while the agent's event stream was down
        h.heartbeat(Assignments.answer([Assignments.task("t1")], version: 2))
        h.tick()
        #expect(h.report("t1")?.state == .started, "nothing says it is gone yet")
        h.run(h.list())
        let report = try #require(h.report("t1"))
        #expect(report.state == .finished && report.reason == .crashed && report.containerId == first, "\(report)")
        #expect(report.message?.contains("removed") == true)
        h.tick()
        #expect(h.creates == 1, "the attempt failed; a new one is the master's to decide")
    }

    @Test func aContainerRemovedOutOfBandFailsItsAttemptOnTheDestroyEvent() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let first = try #require(h.docker.id(ofTask: "t1"))
        h.docker.containers[first] = nil
        h.run(h.supervisor.containerGone(first, now: h.now))
        #expect(h.report("t1")?.reason == .crashed && h.creates == 1)
        // The master takes the report and drops the task: nothing is left to remove or create.
        h.heartbeat(Assignments.answer([], version: 2))
        h.heartbeat(Assignments.answer([], version: 3))
        #expect(h.supervisor.tasks["t1"] == nil && h.creates == 1)
    }

    @Test func anAgentRestartStillAdoptsTheContainersThatAreThere() throws {
        var h = SupervisorHarness()
        let running = h.docker.add(task: "t1", status: "running")
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.creates == 0 && h.report("t1")?.state == .started && h.report("t1")?.containerId == running)
    }
}
