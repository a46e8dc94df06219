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

    @Test func aContainerThatVanishedWithoutAnEventIsRecreatedOnTheNextList() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let first = try #require(h.docker.id(ofTask: "t1"))
        h.docker.containers[first] = nil
        h.heartbeat(Assignments.answer([Assignments.task("t1")], version: 2))
        h.tick()
        #expect(h.creates == 1, "nothing says it is gone yet")
        h.run(h.list())
        #expect(h.creates == 2 && h.report("t1")?.containerId != first)
    }
}
