import Testing
@testable import JobStore
@testable import Model

/// The job store state machine, driven command by command (no clock, no I/O).
@Suite struct JobStoreTests {
    var store = JobStore()
    var index: UInt64 = 0

    static func batchSpec(size: Int = 2, retries: RetryPolicy = .immediate(retries: 1)) -> JobSpec {
        JobSpec(name: "b", owner: "o", type: .batch,
                container: ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64)),
                batch: BatchSpec(size: size, retryPolicy: retries))
    }

    static func serviceSpec(_ min: Int, _ desired: Int, _ max: Int,
                            retries: RetryPolicy = .delayed(delayMs: 500, retries: 2)) -> JobSpec {
        JobSpec(name: "s", owner: "o", type: .service,
                container: ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64)),
                service: ServiceSpec(capacity: Capacity(min: min, desired: desired, max: max), retryPolicy: retries))
    }

    @discardableResult
    mutating func apply(_ command: Command) -> CommandResult {
        index += 1
        return store.apply(command, index: index)
    }

    mutating func create(_ id: String, _ spec: JobSpec, key: String? = nil, at: Int64 = 1_000) -> Job? {
        if case .job(let job, _) = apply(.createJob(jobId: id, spec: spec, idempotencyKey: key, atMs: at)) { return job }
        return nil
    }

    func tasks(_ jobId: String) -> [JobTask] { store.tasks(ofJob: jobId) }

    mutating func report(_ taskId: String, _ state: TaskState, _ reason: FinishReason? = nil, at: Int64 = 2_000) -> CommandResult {
        apply(.updateTask(TaskUpdate(taskId: taskId, state: state, reason: reason, atMs: at)))
    }

    @Test mutating func createMakesOneAcceptedTaskPerSlot() throws {
        let job = try #require(create("j1", Self.batchSpec(size: 3)))
        #expect(job.state == .accepted && tasks("j1").map(\.id) == ["j1-0", "j1-1", "j1-2"])
        #expect(tasks("j1").map(\.index) == [0, 1, 2] && tasks("j1").allSatisfy { $0.state == .accepted })
        #expect(store.taskCountsByState[.accepted] == 3 && store.jobCountsByState[.accepted] == 1)
    }

    @Test mutating func idempotencyKeyReplaysOrConflicts() throws {
        _ = create("j1", Self.batchSpec(), key: "k")
        #expect(apply(.createJob(jobId: "j2", spec: Self.batchSpec(), idempotencyKey: "k", atMs: 5))
                == .job(store.job("j1")!, replayed: true))
        #expect(store.job("j2") == nil)
        guard case .rejected(.conflict(let field, _)) = apply(.createJob(jobId: "j3", spec: Self.batchSpec(size: 5), idempotencyKey: "k", atMs: 5)) else {
            Issue.record("a different spec under the same key must conflict"); return
        }
        #expect(field == "Idempotency-Key")
    }

    @Test mutating func invalidSpecIsRejectedDeterministically() {
        var spec = Self.batchSpec()
        spec.container.resources.memoryMB = 0
        guard case .rejected(.invalid(let e)) = apply(.createJob(jobId: "j", spec: spec, idempotencyKey: nil, atMs: 1)) else {
            Issue.record("expected a validation error"); return
        }
        #expect(e.field == "container.resources.memoryMB" && store.jobCount == 0)
    }

    @Test mutating func batchRetriesFailuresThenFinishes() {
        _ = create("j", Self.batchSpec(size: 1, retries: .immediate(retries: 1)))
        _ = report("j-0", .started)
        _ = report("j-0", .finished, .failed)
        #expect(tasks("j").map(\.attempt) == [0, 1], "one retry")
        _ = report("j-1", .finished, .failed)
        #expect(tasks("j").count == 2, "retries exhausted: no third attempt")
        #expect(store.job("j")!.state == .finished)
    }

    @Test mutating func batchSuccessDoesNotRetry() {
        _ = create("j", Self.batchSpec(size: 2))
        _ = report("j-0", .finished, .normal)
        #expect(store.job("j")!.state == .accepted)
        _ = report("j-1", .finished, .normal)
        #expect(store.job("j")!.state == .finished && tasks("j").count == 2)
    }

    @Test mutating func killJobFinishesUnplacedAndKillsPlacedTasks() {
        _ = create("j", Self.batchSpec(size: 2))
        _ = report("j-0", .started)
        _ = apply(.killJob(jobId: "j", atMs: 3_000))
        #expect(store.task("j-0")!.state == .killInitiated)
        #expect(store.task("j-1")!.state == .finished && store.task("j-1")!.reason == .killed)
        #expect(store.job("j")!.state == .killInitiated)
        _ = apply(.updateTask(TaskUpdate(taskId: "j-0", state: .finished, reason: .failed, exitCode: 143, atMs: 3_100)))
        #expect(store.task("j-0")!.reason == .killed, "a kill Fuller started keeps its reason")
        #expect(store.task("j-0")!.exitCode == 143)
        #expect(store.job("j")!.state == .finished)
    }

    @Test mutating func serviceScalesUpAndDown() {
        _ = create("s", Self.serviceSpec(1, 2, 5))
        _ = report("s-0", .started)
        _ = report("s-1", .started)
        _ = apply(.setCapacity(jobId: "s", capacity: Capacity(min: 1, desired: 4, max: 5), atMs: 2))
        #expect(store.liveTasks(ofJob: "s").map(\.index).sorted() == [0, 1, 2, 3])
        _ = apply(.setCapacity(jobId: "s", capacity: Capacity(min: 1, desired: 1, max: 5), atMs: 3))
        // Unplaced tasks (indexes 2, 3) go first and finish at once; then the highest placed index.
        #expect(store.task("s-2")!.reason == .scaledDown && store.task("s-2")!.isFinished)
        #expect(store.task("s-3")!.isFinished)
        #expect(store.task("s-1")!.state == .killInitiated && store.task("s-0")!.state == .started)
        _ = report("s-1", .finished, .normal)
        #expect(store.task("s-1")!.reason == .scaledDown)
        #expect(store.liveTasks(ofJob: "s").count == 1, "no replacement after a scale-down")
    }

    @Test mutating func capacityChangeIsValidated() {
        _ = create("s", Self.serviceSpec(1, 2, 5))
        guard case .rejected(.invalid(let e)) = apply(.setCapacity(jobId: "s", capacity: Capacity(min: 3, desired: 2, max: 5), atMs: 2)) else {
            Issue.record("min > desired must be rejected"); return
        }
        #expect(e.field == "capacity.desired")
        _ = create("b", Self.batchSpec())
        guard case .rejected(.invalid) = apply(.setCapacity(jobId: "b", capacity: Capacity(min: 0, desired: 1, max: 1), atMs: 2)) else {
            Issue.record("batch jobs have no capacity"); return
        }
    }

    @Test mutating func crashedServiceTaskIsReplacedWithBackOff() {
        _ = create("s", Self.serviceSpec(1, 1, 1, retries: .delayed(delayMs: 500, retries: 1)))
        _ = report("s-0", .started)
        _ = report("s-0", .finished, .crashed, at: 10_000)
        let replacement = store.task("s-1")
        #expect(replacement?.index == 0 && replacement?.attempt == 1 && replacement?.notBeforeMs == 10_500)
        _ = report("s-1", .finished, .crashed, at: 20_000)
        #expect(store.task("s-2") == nil, "retries exhausted")
        #expect(store.job("s")!.state == .accepted, "a service only ends when killed")
    }

    @Test mutating func killTaskWithShrinkLowersDesired() {
        _ = create("s", Self.serviceSpec(1, 2, 3))
        _ = report("s-0", .started)
        _ = apply(.killTask(taskId: "s-0", shrink: true, atMs: 5))
        #expect(store.job("s")!.spec.service!.capacity.desired == 1)
        _ = report("s-0", .finished, .normal)
        #expect(store.task("s-2") == nil, "shrunk: not replaced")
        guard case .rejected(.conflict(let field, _)) = apply(.killTask(taskId: "s-1", shrink: true, atMs: 6)) else {
            Issue.record("cannot shrink below min"); return
        }
        #expect(field == "shrink")
        _ = apply(.killTask(taskId: "s-1", shrink: false, atMs: 7))
        #expect(store.task("s-2")?.index == 1, "killed without shrink: replaced at once since it was never placed")
    }

    @Test mutating func illegalTransitionsAreRefused() {
        _ = create("j", Self.batchSpec(size: 1))
        _ = report("j-0", .started)
        guard case .rejected(.conflict) = report("j-0", .launched) else { Issue.record("no going back"); return }
        _ = report("j-0", .finished, .normal)
        guard case .rejected(.conflict) = report("j-0", .started) else { Issue.record("finished is final"); return }
    }

    @Test mutating func finishedJobsBeyondRetentionAreForgotten() {
        var limits = StoreLimits()
        limits.finishedJobsRetained = 2
        store = JobStore(limits: limits)
        for i in 0..<4 {
            _ = create("j\(i)", Self.batchSpec(size: 1), key: "k\(i)")
            _ = apply(.killJob(jobId: "j\(i)", atMs: 9))
        }
        #expect(store.listJobs(filter: .init(), limit: 10).items.map(\.id) == ["j2", "j3"])
        #expect(store.listTasks(jobId: nil, state: nil, limit: 10).items.map(\.id) == ["j2-0", "j3-0"])
        #expect(store.task("j0-0") == nil && store.taskCount == 2)
        #expect(store.jobCountsByState[.finished] == 2 && store.taskCountsByState[.finished] == 2)
        #expect(create("again", Self.batchSpec(size: 1), key: "k0")?.id == "again", "a forgotten job frees its key")
    }

    @Test mutating func activeJobLimitIsEnforced() {
        var limits = StoreLimits()
        limits.activeJobsMax = 2
        store = JobStore(limits: limits)
        _ = create("a", Self.batchSpec())
        _ = create("b", Self.batchSpec())
        guard case .rejected(.limitExceeded) = apply(.createJob(jobId: "c", spec: Self.batchSpec(), idempotencyKey: nil, atMs: 1)) else {
            Issue.record("third active job must be refused"); return
        }
        _ = apply(.killJob(jobId: "a", atMs: 2))
        #expect(create("c", Self.batchSpec()) != nil)
    }

    @Test mutating func listsPageInCreationOrderWithFilters() {
        for i in 0..<5 { _ = create("b\(i)", Self.batchSpec(size: 1)) }
        _ = create("s", Self.serviceSpec(0, 1, 1))
        let first = store.listJobs(filter: .init(), limit: 4)
        #expect(first.items.map(\.id) == ["b0", "b1", "b2", "b3"])
        let second = store.listJobs(filter: .init(), after: first.nextCursor!, limit: 4)
        #expect(second.items.map(\.id) == ["b4", "s"] && second.nextCursor == nil)
        #expect(store.listJobs(filter: .init(type: .service), limit: 10).items.map(\.id) == ["s"])
        let tasksPage = store.listTasks(jobId: nil, state: .accepted, limit: 3)
        #expect(tasksPage.items.map(\.id) == ["b0-0", "b1-0", "b2-0"])
        #expect(store.listTasks(jobId: nil, state: .accepted, after: tasksPage.nextCursor!, limit: 10).items.count == 3)
    }

    @Test mutating func snapshotRestoresTheSameStore() throws {
        _ = create("j", Self.batchSpec(size: 2), key: "k")
        _ = report("j-0", .started)
        _ = create("s", Self.serviceSpec(1, 2, 3))
        _ = apply(.killJob(jobId: "j", atMs: 4))
        let bytes = store.snapshot()
        var restored = try JobStore.restore(bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.listJobs(filter: .init(), limit: 10).items == store.listJobs(filter: .init(), limit: 10).items)
        #expect(restored.listTasks(jobId: nil, state: nil, limit: 10).items == store.listTasks(jobId: nil, state: nil, limit: 10).items)
        #expect(restored.appliedIndex == index && restored.taskCount == store.taskCount)
        #expect(restored.taskCountsByState.filter { $0.value != 0 } == store.taskCountsByState.filter { $0.value != 0 })
        // Both continue identically.
        let next = Command.createJob(jobId: "x", spec: Self.batchSpec(), idempotencyKey: "k", atMs: 9)
        #expect(restored.apply(next, index: index + 1) == store.apply(next, index: index + 1))
    }

    @Test mutating func aCopyIsUnaffectedByLaterCommands() {
        _ = create("s", Self.serviceSpec(1, 2, 3))
        _ = report("s-0", .started)
        let copy = store
        let before = copy.snapshot()
        _ = report("s-0", .finished, .crashed)
        _ = apply(.setCapacity(jobId: "s", capacity: Capacity(min: 1, desired: 3, max: 3), atMs: 9))
        _ = apply(.killJob(jobId: "s", atMs: 10))
        #expect(copy.snapshot() == before, "the snapshot copy must not see writes made after it")
        #expect(copy.task("s-0")?.state == .started && store.task("s-0")?.state == .finished)
    }

    @Test mutating func placementIndexesTasksByAgentUntilTheyFinish() throws {
        _ = create("j", Self.batchSpec(size: 2))
        #expect(store.pendingCount == 2)
        _ = apply(.updateTask(TaskUpdate(taskId: "j-0", state: .launched, agentId: "a1", atMs: 5)))
        _ = apply(.updateTask(TaskUpdate(taskId: "j-1", state: .launched, agentId: "a2", atMs: 5)))
        #expect(store.tasks(onAgent: "a1").map(\.id) == ["j-0"] && store.pendingCount == 0)
        guard case .rejected(.conflict(let field, _)) = apply(.updateTask(TaskUpdate(taskId: "j-0", state: .started, agentId: "a2", atMs: 6))) else {
            Issue.record("a placed task cannot move to another agent"); return
        }
        #expect(field == "agentId")
        let restored = try JobStore.restore(store.snapshot())
        #expect(restored.tasksByAgent == store.tasksByAgent && restored.pendingCount == 0)
        _ = report("j-0", .finished, .normal)
        #expect(store.tasks(onAgent: "a1").isEmpty && store.tasksByAgent["a1"] == nil)
        _ = apply(.killJob(jobId: "j", atMs: 7))
        #expect(store.task("j-1")?.state == .killInitiated && store.tasks(onAgent: "a2").count == 1, "killing keeps it on its agent until it stops")
    }

    @Test mutating func pendingTasksHonourBackOffAndTier() {
        var critical = Self.batchSpec(size: 1)
        critical.tier = .critical
        _ = create("flex", Self.batchSpec(size: 1))
        _ = create("crit", critical)
        #expect(store.pendingTasks(nowMs: 0, limit: 10).map(\.id) == ["crit-0", "flex-0"])
        _ = create("s", Self.serviceSpec(1, 1, 1, retries: .delayed(delayMs: 500, retries: 3)))
        _ = apply(.updateTask(TaskUpdate(taskId: "s-0", state: .launched, agentId: "a", atMs: 1_000)))
        _ = report("s-0", .finished, .crashed, at: 1_000)
        #expect(!store.pendingTasks(nowMs: 1_200, limit: 10).contains { $0.id == "s-1" })
        #expect(store.nextRetryMs(after: 1_200) == 1_500)
        #expect(store.pendingTasks(nowMs: 1_500, limit: 10).contains { $0.id == "s-1" })
    }

    @Test mutating func healthIsKeptUntilTheAgentReportsAnotherAndSurvivesASnapshot() throws {
        _ = create("s", Self.serviceSpec(1, 1, 1))
        _ = apply(.updateTask(TaskUpdate(taskId: "s-0", state: .started, health: "starting", atMs: 5)))
        #expect(store.task("s-0")?.health == "starting")
        _ = apply(.updateTask(TaskUpdate(taskId: "s-0", state: .started, ip: "10.0.0.3", atMs: 6)))
        #expect(store.task("s-0")?.health == "starting", "an update without health keeps it")
        _ = apply(.updateTask(TaskUpdate(taskId: "s-0", state: .started, health: "unhealthy", atMs: 7)))
        let restored = try JobStore.restore(store.snapshot())
        #expect(restored.task("s-0")?.health == "unhealthy")
        _ = report("s-0", .finished, .failed)
        #expect(store.task("s-0")?.health == nil, "a finished task has no health")
    }

    @Test func commandsRoundTripThroughTheLogEncoding() throws {
        let commands: [Command] = [
            .createJob(jobId: "j", spec: Self.serviceSpec(1, 2, 3), idempotencyKey: "k\"ey", atMs: 1),
            .killJob(jobId: "j", atMs: 2),
            .setCapacity(jobId: "j", capacity: Capacity(min: 0, desired: 1, max: 2), atMs: 3),
            .killTask(taskId: "j-0", shrink: true, atMs: 4),
            .updateTask(TaskUpdate(taskId: "j-1", state: .finished, reason: .failed, exitCode: 2, message: "oom",
                                   agentId: "a1", containerId: "c", ip: "10.0.0.2", atMs: 5)),
            .updateTask(TaskUpdate(taskId: "j-2", state: .started, health: "unhealthy", atMs: 6)),
        ]
        for c in commands { #expect(try Command(encoded: c.encoded()) == c) }
    }
}
