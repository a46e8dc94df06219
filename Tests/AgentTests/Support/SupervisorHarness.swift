@testable import Agent
import Model
import Shared

/// Sample assignments for agent tests.
enum Assignments {
    static func task(_ id: String, job: String = "job-1", index: Int = 0, image: String = "fuller-test/busybox:1",
                     command: [String] = ["sleep", "60"], runtimeLimitSeconds: Int? = nil) -> TaskAssignment {
        TaskAssignment(taskId: id, jobId: job, index: index, attempt: 0,
                       container: ContainerSpec(image: image, command: command, env: ["GREETING": "hi"],
                                                resources: Resources(cpu: 0.5, memoryMB: 64)),
                       runtimeLimitSeconds: runtimeLimitSeconds)
    }

    static func answer(_ tasks: [TaskAssignment], kills: [String] = [], version: UInt64 = 1) -> HeartbeatResponse {
        HeartbeatResponse(assignmentsVersion: version, assignments: tasks, kills: kills, intervalMilliseconds: 10_000)
    }
}

/// A synchronous, in-memory Docker for driving the supervisor: containers as plain data.
struct FakeContainers {
    var containers: [String: ContainerDetails] = [:]
    var images: Set<String> = ["fuller-test/busybox:1"]
    /// Images a pull can fetch.
    var pullable: Set<String> = []
    var nextId = 1
    /// When set, every call fails with `.daemonUnavailable`.
    var down = false
    var logText = "starting\nboom\n"
    /// Containers whose health probes fail.
    var failingProbes: Set<String> = []

    mutating func add(task: String, job: String = "job-1", status: String, exitCode: Int = 0,
                      startedAt: String? = "2026-01-01T00:00:00Z", finishedAt: String? = nil) -> String {
        let id = "c\(nextId)"
        nextId += 1
        containers[id] = ContainerDetails(
            id: id, name: "/fuller-\(task)",
            labels: ["fuller.managed": "true", "fuller.task": task, "fuller.job": job],
            status: status, running: status == "running", exitCode: exitCode, oomKilled: false, error: "",
            startedAt: startedAt, finishedAt: finishedAt, ipAddress: status == "running" ? "172.17.0.\(nextId)" : nil, health: nil)
        return id
    }

    var summaries: [ContainerSummary] {
        containers.values.sorted { $0.id < $1.id }.map {
            ContainerSummary(id: $0.id, names: [$0.name], labels: $0.labels, state: $0.status)
        }
    }

    func id(ofTask task: String) -> String? { containers.values.first { $0.labels["fuller.task"] == task }?.id }

    /// Performs one action the way Docker would; nil for `.list`, which the harness handles.
    /// The next this many starts fail with a 500, as a daemon that is shutting down answers.
    var startServerErrors = 0

    mutating func perform(_ action: Supervisor.Action, now: Timestamp) -> Supervisor.ActionResult? {
        let unavailable = DockerError.daemonUnavailable("connection refused")
        switch action {
        case .list:
            return nil
        case .pull(let taskId, let image):
            if down { return .pulled(taskId: taskId, .failure(unavailable)) }
            guard pullable.contains(image) else {
                return .pulled(taskId: taskId, .failure(.notFound("pull access denied for \(image)")))
            }
            images.insert(image)
            return .pulled(taskId: taskId, .success(()))
        case .create(let taskId, let name, let config):
            if down { return .created(taskId: taskId, .failure(unavailable)) }
            if containers.values.contains(where: { $0.name == "/" + name }) {
                return .created(taskId: taskId, .failure(.conflict("name \(name) in use")))
            }
            guard images.contains(config.image) else {
                return .created(taskId: taskId, .failure(.notFound("No such image: \(config.image)")))
            }
            let id = add(task: config.labels["fuller.task"] ?? "?", status: "created", startedAt: nil)
            containers[id]!.labels = config.labels
            return .created(taskId: taskId, .success(id))
        case .start(let taskId, let id):
            if down { return .started(taskId: taskId, containerId: id, .failure(unavailable)) }
            guard containers[id] != nil else { return .started(taskId: taskId, containerId: id, .failure(.notFound(id))) }
            if startServerErrors > 0 {
                startServerErrors -= 1
                containers[id]!.error = "failed to update store for object type *libnetwork.endpoint"
                return .started(taskId: taskId, containerId: id, .failure(.serverError(status: 500, message: containers[id]!.error)))
            }
            containers[id]!.error = ""
            containers[id]!.status = "running"
            containers[id]!.running = true
            containers[id]!.startedAt = now.rfc3339
            containers[id]!.ipAddress = "172.17.0.9"
            return .started(taskId: taskId, containerId: id, .success(()))
        case .stop(let id, _):
            if down { return .stopped(containerId: id, .failure(unavailable)) }
            guard containers[id] != nil else { return .stopped(containerId: id, .failure(.notFound(id))) }
            exit(id, code: 143, now: now)
            return .stopped(containerId: id, .success(()))
        case .remove(let id):
            if down { return .removed(containerId: id, .failure(unavailable)) }
            return .removed(containerId: id, containers.removeValue(forKey: id) == nil ? .failure(.notFound(id)) : .success(()))
        case .inspect(let id):
            if down { return .inspected(containerId: id, .failure(unavailable)) }
            return .inspected(containerId: id, containers[id].map { .success($0) } ?? .failure(.notFound(id)))
        case .fetchLogs(let taskId, let id, _):
            return .logsFetched(taskId: taskId, containerId: id, text: down ? nil : logText)
        case .probe(_, let id, _):
            // Probes go to the container, not to Docker: a daemon that is down does not fail them.
            let ok = !failingProbes.contains(id)
            return .probed(containerId: id, ok: ok, message: ok ? "HTTP 200" : "HTTP 503")
        }
    }

    mutating func exit(_ id: String, code: Int, now: Timestamp, oom: Bool = false) {
        containers[id]!.status = "exited"
        containers[id]!.running = false
        containers[id]!.exitCode = code
        containers[id]!.oomKilled = oom
        containers[id]!.finishedAt = now.rfc3339
    }
}

/// A supervisor plus fake Docker, run to quiescence after each input. Never sleeps: time is `now`.
struct SupervisorHarness {
    var supervisor: Supervisor
    var docker = FakeContainers()
    var now = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)  // 2026-01-01T00:00:00Z
    /// Every action performed, in order.
    var performed: [Supervisor.Action] = []
    var sequence: UInt64 = 0

    init(configuration: Supervisor.Configuration = Supervisor.Configuration()) {
        supervisor = Supervisor(configuration: configuration)
    }

    mutating func advance(seconds: Int) { now = now.advanced(by: .seconds(seconds)) }

    /// Drains `actions` and everything they lead to (bounded, so a livelock fails the test),
    /// showing `after` each action and the supervisor once its result is in.
    mutating func run(_ actions: [Supervisor.Action], after: (Supervisor.Action, Supervisor) -> Void = { _, _ in }) {
        var queue = actions
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            precondition(steps < 1_000, "supervisor did not settle")
            let action = queue.removeFirst()
            performed.append(action)
            if action == .list {
                queue += list()
            } else if let result = docker.perform(action, now: now) {
                queue += supervisor.actionFinished(result, now: now)
            }
            after(action, supervisor)
        }
    }

    /// Starts, runs `task` and makes its container exit with `code`, the supervisor not told
    /// yet; the container's id, nil if none was created.
    mutating func runThenExit(_ task: TaskAssignment, code: Int = 0) -> String? {
        start()
        heartbeat(Assignments.answer([task]))
        guard let id = docker.id(ofTask: task.taskId) else { return nil }
        docker.exit(id, code: code, now: now)
        return id
    }

    /// A full list, as the executor does at start and periodically.
    mutating func list() -> [Supervisor.Action] {
        let token = supervisor.beginList()
        return supervisor.listed(docker.summaries, token: token, now: now)
    }

    mutating func start() { run(list()) }

    /// Sends a heartbeat (marking the reports sent) and applies `response` as its answer.
    mutating func heartbeat(_ response: HeartbeatResponse) {
        sequence += 1
        supervisor.willSend(sequence: sequence)
        run(supervisor.assignments(response, requestSequence: sequence, now: now))
    }

    mutating func tick() { run(supervisor.tick(now: now)) }

    mutating func event(_ id: String) { run(supervisor.containerChanged(id, now: now)) }

    func report(_ task: String) -> TaskReport? { supervisor.reports.first { $0.taskId == task } }

    var creates: Int { performed.filter { if case .create = $0 { true } else { false } }.count }
}
