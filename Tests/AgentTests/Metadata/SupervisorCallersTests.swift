import Testing
@testable import Agent
import Model
import Shared
import Synchronization

/// Which tasks the metadata endpoint answers: the supervisor's running containers with an IP.
@Suite struct SupervisorCallersTests {
    static func tokenTask(_ id: String) -> TaskAssignment {
        var task = Assignments.task(id)
        task.container.metadata.requireTokens = true
        return task
    }

    @Test func aRunningTaskIsACallerUntilItsContainerStops() throws {
        var h = SupervisorHarness()
        h.start()
        #expect(h.supervisor.callers.isEmpty)
        h.heartbeat(Assignments.answer([Self.tokenTask("t1")]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        #expect(h.supervisor.startingCallers == 0)
        let caller = try #require(h.supervisor.callers.first)
        #expect(h.supervisor.callers.count == 1)
        #expect(caller.taskId == "t1" && caller.jobId == "job-1" && caller.containerId == id && caller.ip == "172.17.0.9")
        #expect(caller.requireTokens && caller.resources.memoryMB == 64 && caller.image == "fuller-test/busybox:1")

        #expect(h.supervisor.startingCallers == 0)
        // The exit event's inspect takes it out at once, before the master hears of the exit.
        h.docker.exit(id, code: 0, now: h.now)
        h.event(id)
        #expect(h.supervisor.callers.isEmpty)
    }

    /// Between Docker accepting the start and the inspect that brings the address, the task is
    /// "starting": the endpoint holds an unknown caller's request for it.
    @Test func aStartedContainerIsStartingUntilItsAddressIsKnown() {
        var h = SupervisorHarness()
        h.start()
        h.supervisor.willSend(sequence: 1)
        var sawStarting = false
        h.run(h.supervisor.assignments(Assignments.answer([Assignments.task("t1")]), requestSequence: 1, now: h.now)) { action, supervisor in
            guard case .start = action else { return }
            #expect(supervisor.startingCallers == 1 && supervisor.callers.isEmpty)
            sawStarting = true
        }
        #expect(sawStarting)
        #expect(h.supervisor.startingCallers == 0 && h.supervisor.callers.map(\.taskId) == ["t1"])
    }

    /// A container seen exited is no longer starting, even while its task waits for its log
    /// tail before it finishes: a request from an unknown address is not held for it.
    @Test func anExitedContainerIsNotStartingWhileItsLogsAreFetched() throws {
        var h = SupervisorHarness()
        let exited = h.runThenExit(Assignments.task("t1"))
        let id = try #require(exited)
        var starting: [Int] = []
        h.run(h.supervisor.containerChanged(id, now: h.now)) { _, supervisor in
            #expect(supervisor.callers.isEmpty)
            starting.append(supervisor.startingCallers)
        }
        #expect(h.performed.contains { if case .fetchLogs = $0 { true } else { false } }, "the log tail was fetched")
        #expect(starting.allSatisfy { $0 == 0 } && h.report("t1")?.state == .finished, "exited: not starting \(starting)")
    }

    @Test func twoTasksClaimingOneAddressAreBothLeftOut() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1"), Assignments.task("t2", index: 1)]))
        #expect(h.supervisor.callers.isEmpty, "the fake engine gives every container 172.17.0.9")
        #expect(h.supervisor.startingCallers == 0, "their addresses are known, if ambiguous")
        let second = try #require(h.docker.id(ofTask: "t2"))
        h.docker.containers[second]!.ipAddress = "172.17.0.10"
        h.event(second)
        #expect(h.supervisor.callers.map(\.taskId) == ["t1", "t2"])
        #expect(h.supervisor.callers.map(\.ip) == ["172.17.0.9", "172.17.0.10"])
    }

    @Test func aKilledTaskLeavesWhenItsContainerHasStopped() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.supervisor.callers.count == 1)
        h.heartbeat(Assignments.answer([], kills: ["t1"], version: 2))
        #expect(h.supervisor.callers.isEmpty)
        #expect(h.report("t1")?.reason == .killed)
    }
}

/// The executor hands every change of callers to its sink, the metadata endpoint.
@Suite struct ExecutorCallerSinkTests {
    /// Every change as one entry (callers and starting count together, so a reader never sees
    /// one without the other).
    final class RecordingSink: CallerSink {
        let changes = Mutex<[(callers: [String], starting: Int)]>([])
        func callersChanged(_ callers: [TaskIdentity], starting: Int) {
            changes.withLock { $0.append((callers.map(\.taskId), starting)) }
        }
        var seen: [[String]] { changes.withLock { $0.map(\.callers) } }
        var last: [String]? { changes.withLock { $0.last?.callers } }
    }

    @Test func aStartAndAnExitReachTheSink() async throws {
        let engine = FakeDockerEngine()
        let sink = RecordingSink()
        var configuration = Executor.Configuration()
        configuration.listInterval = .seconds(3600)
        configuration.tickInterval = .seconds(3600)
        let executor = Executor(engine: engine, configuration: configuration,
                                logger: Logger(component: "test", sink: CapturingLogSink()), callerSink: sink)
        try await ExecutorTests.running(executor) {
            #expect(await eventually { executor.state.withLock { $0.supervisor.listed } })
            executor.apply(Assignments.answer([Assignments.task("t1")]), requestSequence: 1)
            #expect(await eventually { sink.last == ["t1"] })
            let id = try #require(engine.containers.values.first?.id)
            engine.exit(id, code: 0)
            #expect(await eventually { sink.last == [] })
            let seen = sink.seen
            #expect(seen.last == [] && seen.filter { $0 == ["t1"] }.count == 1, "published once per change, in order: \(seen)")
            let after = sink.changes.withLock { $0.drop { $0.callers != ["t1"] } }
            #expect(after.allSatisfy { $0.starting == 0 }, "never starting once it ran: \(after)")
        }
    }
}
