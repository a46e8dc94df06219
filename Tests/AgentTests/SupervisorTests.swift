import Testing
@testable import Agent
import Model
import Shared

@Suite struct SupervisorTests {
    @Test func runsAnAssignedTaskAndReportsItStarted() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        #expect(h.docker.containers[id]?.status == "running")
        #expect(h.report("t1") == TaskReport(taskId: "t1", state: .started, containerId: id, ip: "172.17.0.9"))
        guard case .create(_, let name, let config)? = h.performed.first(where: { if case .create = $0 { true } else { false } }) else {
            Issue.record("no create"); return
        }
        #expect(name == "fuller-t1")
        #expect(config.labels == ["fuller.managed": "true", "fuller.task": "t1", "fuller.job": "job-1", "fuller.agent": "a1"])
        #expect(config.env["FULLER_TASK_ID"] == "t1" && config.env["FULLER_JOB_ID"] == "job-1")
        #expect(config.env["FULLER_TASK_INDEX"] == "0" && config.env["FULLER_NUM_CPU"] == "0.5")
        #expect(config.env["FULLER_NUM_MEM"] == "64" && config.env["GREETING"] == "hi")
        #expect(config.env["FULLER_METADATA_URL"] == "http://127.0.0.1:4711")
        #expect(config.nanoCPUs == 500_000_000 && config.memoryBytes == 64 << 20 && config.memorySwapBytes == 64 << 20)
        #expect(config.command == ["sleep", "60"] && config.entrypoint == nil)
    }

    @Test func aDaemonsOwnStartFailureIsRetriedNotTheTasks() throws {
        var h = SupervisorHarness()
        h.start()
        h.docker.startServerErrors = 2
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.report("t1")?.state == .startInitiated, "a 500 on start does not end the task")
        for _ in 0..<6 {
            h.advance(seconds: 31)
            h.tick()
        }
        #expect(h.report("t1")?.state == .started)
        #expect(h.docker.containers.count == 1)
    }

    @Test func repeatedDaemonStartFailuresEndAsATransientSystemError() throws {
        var h = SupervisorHarness()
        h.start()
        h.docker.startServerErrors = 100
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        for _ in 0..<10 {
            h.advance(seconds: 31)
            h.tick()
        }
        let report = try #require(h.report("t1"))
        #expect(report.state == .finished && report.reason == .transientSystemError)
        #expect(report.message?.contains("libnetwork") == true)
    }

    @Test func createsNothingBeforeTheFirstList() {
        var h = SupervisorHarness()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.creates == 0)
        h.start()
        #expect(h.creates == 1)
    }

    @Test func adoptsItsContainersOnRestart() {
        var h = SupervisorHarness()
        let running = h.docker.add(task: "t1", status: "running")
        let exited = h.docker.add(task: "t2", status: "exited", exitCode: 3)
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1"), Assignments.task("t2")]))
        #expect(h.creates == 0)
        #expect(h.report("t1")?.state == .started && h.report("t1")?.containerId == running)
        let finished = h.report("t2")
        #expect(finished?.state == .finished && finished?.reason == .failed && finished?.exitCode == 3)
        #expect(finished?.containerId == exited)
        #expect(finished?.message?.contains("boom") == true)
        #expect(h.docker.containers.count == 2)
    }

    @Test func aNameConflictMeansAdoptNotDuplicate() throws {
        var h = SupervisorHarness()
        // A list taken before the container appeared: the supervisor does not know it yet.
        let token = h.supervisor.beginList()
        let summaries = h.docker.summaries
        let existing = h.docker.add(task: "t1", status: "running")
        h.run(h.supervisor.listed(summaries, token: token, now: h.now))
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.performed.contains(.list))
        #expect(h.docker.containers.count == 1)
        #expect(h.report("t1")?.containerId == existing && h.report("t1")?.state == .started)
        h.advance(seconds: 5)
        h.tick()
        #expect(h.docker.containers.count == 1)
    }

    @Test func exitCodeIsKeptUntilTheMasterAcknowledges() throws {
        var h = SupervisorHarness()
        h.start()
        let task = Assignments.task("t1")
        h.heartbeat(Assignments.answer([task]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.docker.exit(id, code: 7, now: h.now)
        h.event(id)
        #expect(h.report("t1")?.exitCode == 7 && h.report("t1")?.reason == .failed)
        // Still assigned: the report is re-sent and the container stays.
        h.heartbeat(Assignments.answer([task], version: 1))
        h.heartbeat(Assignments.answer([task], version: 1))
        #expect(h.docker.containers[id] != nil && h.report("t1")?.exitCode == 7)
        // A restarted agent finds the same exit code.
        var restarted = SupervisorHarness()
        restarted.docker = h.docker
        restarted.start()
        restarted.heartbeat(Assignments.answer([task]))
        #expect(restarted.report("t1")?.exitCode == 7)
        // The master took it: the container goes, and so does the report.
        h.heartbeat(Assignments.answer([], version: 2))
        #expect(h.docker.containers[id] == nil)
        #expect(h.supervisor.reports.isEmpty && h.supervisor.tasks.isEmpty)
    }

    @Test func anAnswerToAnOlderHeartbeatDoesNotAcknowledge() throws {
        var h = SupervisorHarness()
        let exited = h.runThenExit(Assignments.task("t1"))
        let id = try #require(exited)
        h.event(id)
        h.supervisor.willSend(sequence: 10)
        h.run(h.supervisor.assignments(Assignments.answer([], version: 2), requestSequence: 9, now: h.now))
        #expect(h.docker.containers[id] != nil)
    }

    @Test func orphansAreReportedThenStoppedAfterTheGraceThenRemoved() {
        var h = SupervisorHarness()
        let orphan = h.docker.add(task: "t9", status: "running")
        h.start()
        h.advance(seconds: 600)
        h.tick()
        #expect(h.supervisor.unknownContainers.isEmpty, "no orphans before the first answer")
        #expect(h.docker.containers[orphan]?.status == "running")
        h.heartbeat(Assignments.answer([]))
        #expect(h.supervisor.unknownContainers == [orphan])
        h.advance(seconds: 59)
        h.tick()
        #expect(h.docker.containers[orphan]?.status == "running")
        h.advance(seconds: 1)
        h.tick()
        #expect(h.performed.contains(.stop(containerId: orphan, graceSeconds: 10)))
        #expect(h.docker.containers[orphan] == nil)
        #expect(h.supervisor.unknownContainers.isEmpty)
    }

    @Test func aKillStopsTheContainerAndReportsFinished() throws {
        var h = SupervisorHarness()
        h.start()
        let task = Assignments.task("t1")
        h.heartbeat(Assignments.answer([task]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.heartbeat(Assignments.answer([], kills: ["t1"], version: 2))
        #expect(h.performed.contains(.stop(containerId: id, graceSeconds: 10)))
        #expect(h.report("t1")?.state == .finished && h.report("t1")?.reason == .killed && h.report("t1")?.exitCode == 143)
        h.heartbeat(Assignments.answer([], version: 3))
        #expect(h.docker.containers.isEmpty)
    }

    @Test func aKillBeforeTheContainerExistsFinishesWithoutOne() {
        var h = SupervisorHarness()
        h.heartbeat(Assignments.answer([], kills: ["t1"]))
        h.heartbeat(Assignments.answer([Assignments.task("t1")], kills: ["t1"], version: 2))
        h.start()
        #expect(h.creates == 0)
        #expect(h.report("t1")?.reason == .killed)
    }

    @Test func aKillForATaskNeverAssignedHereIsReportedKilled() {
        var h = SupervisorHarness()
        h.heartbeat(Assignments.answer([], kills: ["t1"]))
        #expect(h.report("t1") == nil, "not before the first list: a container may yet be adopted")
        h.start()
        #expect(h.creates == 0)
        #expect(h.report("t1")?.state == .finished && h.report("t1")?.reason == .killed)
    }

    @Test func aKillAfterARestartStopsTheAdoptedContainer() throws {
        var h = SupervisorHarness()
        let id = h.docker.add(task: "t1", status: "running")
        h.start()
        h.heartbeat(Assignments.answer([], kills: ["t1"]))
        #expect(h.performed.contains(.stop(containerId: id, graceSeconds: 10)))
        #expect(h.report("t1")?.reason == .killed && h.report("t1")?.containerId == id)
        h.heartbeat(Assignments.answer([], version: 2))
        #expect(h.docker.containers.isEmpty)
    }

    @Test func theRuntimeLimitStopsTheTask() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1", runtimeLimitSeconds: 5)]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.advance(seconds: 4)
        h.tick()
        #expect(h.docker.containers[id]?.status == "running")
        h.advance(seconds: 1)
        h.tick()
        let report = h.report("t1")
        #expect(report?.reason == .runtimeLimitExceeded && report?.exitCode == 143)
    }

    @Test func anOOMKillIsAFailureWithExitCode137() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.docker.exit(id, code: 137, now: h.now, oom: true)
        h.event(id)
        let report = h.report("t1")
        #expect(report?.reason == .failed && report?.exitCode == 137)
        #expect(report?.message?.hasPrefix("OOM killed") == true)
    }

    @Test func aMissingImageIsPulledOnceThenTheTaskIsInvalid() {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1", image: "nope:1")]))
        #expect(h.performed.filter { if case .pull = $0 { true } else { false } }.count == 1)
        let report = h.report("t1")
        #expect(report?.state == .finished && report?.reason == .invalidRequest)
        #expect(report?.message?.contains("pull access denied for nope:1") == true)
        #expect(h.docker.containers.isEmpty)
    }

    @Test func aPulledImageIsUsed() {
        var h = SupervisorHarness()
        h.docker.pullable = ["other:2"]
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1", image: "other:2")]))
        #expect(h.creates == 2)
        #expect(h.report("t1")?.state == .started)
    }

    @Test func reportsAreResentUntilTheTaskLeaves() throws {
        var h = SupervisorHarness()
        h.start()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        let version = h.supervisor.reportsVersion
        let reports = h.supervisor.reports
        h.tick()
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.supervisor.reports == reports && h.supervisor.reportsVersion == version)
        let id = try #require(h.docker.id(ofTask: "t1"))
        h.docker.exit(id, code: 0, now: h.now)
        h.event(id)
        #expect(h.supervisor.reportsVersion == version + 1)
        #expect(h.report("t1") == TaskReport(taskId: "t1", state: .finished, containerId: id, ip: "172.17.0.9",
                                             exitCode: 0, reason: .normal, message: "last output:\nstarting\nboom"),
                "a normal exit keeps the container's last output too")
    }

    @Test func dockerDownDelaysButDoesNotFailTheTask() {
        var h = SupervisorHarness()
        h.start()
        h.docker.down = true
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        #expect(h.report("t1") == nil && h.creates == 1)
        h.tick()
        #expect(h.creates == 1, "retried only after the backoff")
        h.docker.down = false
        h.advance(seconds: 1)
        h.tick()
        #expect(h.creates == 2 && h.report("t1")?.state == .started)
    }

    @Test func aStartErrorFailsTheTaskWithTheDaemonsMessage() {
        // An adopted container whose start failed before the agent restarted.
        var restarted = SupervisorHarness()
        let id = restarted.docker.add(task: "t2", status: "created", exitCode: 127, startedAt: nil)
        restarted.docker.containers[id]!.error = "exec: \"nope\": executable file not found"
        restarted.start()
        restarted.heartbeat(Assignments.answer([Assignments.task("t2")]))
        #expect(restarted.report("t2")?.reason == .failed && restarted.report("t2")?.exitCode == 127)
        #expect(restarted.report("t2")?.message?.contains("executable file not found") == true)
    }
}

extension SupervisorTests {
    @Test func anAssignmentBeforeTheFirstListAdoptsInsteadOfCreating() {
        var h = SupervisorHarness()
        let existing = h.docker.add(task: "t1", status: "running")
        h.heartbeat(Assignments.answer([Assignments.task("t1")]))
        h.start()
        #expect(h.creates == 0 && !h.performed.contains(.list))
        #expect(h.report("t1")?.containerId == existing)
    }
}
