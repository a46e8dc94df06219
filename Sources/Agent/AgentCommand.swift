import Dispatch
import Foundation
import Glibc
import Model
import Shared

/// The agent's command line (DESIGN.md) and its start-up.
///
/// Wiring: `DockerClient` (the Engine API) ← `Executor` (owns the `Supervisor`) ← `HeartbeatLoop`
/// (talks to the masters through `MasterConnection`); `AgentRoutes` serves `/healthz`, `/readyz`
/// (named checks: Docker, the masters, the metadata endpoint) and `/metrics` (`AgentMetrics`);
/// the `MetadataEndpoint` answers containers about themselves from the executor's running tasks.
/// One agent per data directory (`AgentLock`) and per id on an engine (`EngineClaim`): exit
/// status 3 when another holds either; with
/// `--exit-with-parent` it stops when its parent goes (`ParentWatch`).
/// SIGTERM or SIGINT cancels the loops, removes the metadata DNAT rule and exits without
/// touching a container: they keep running, and the next agent with the same `--id` adopts them.
enum AgentCommand {
    static let flags: [Flag] = [
        Flag("id", .string, default: .string("a1"), help: "This agent's id."),
        Flag("masters", .list, default: .list(["http://127.0.0.1:4700"]), help: "Every master's API URL.", valueName: "URLS"),
        Flag("data-dir", .string, default: .string("/var/lib/fuller/agent"), help: "Directory for the agent's state.", valueName: "DIR"),
        Flag("api", .string, default: .string("127.0.0.1:4710"), help: "Address of the agent's API.", valueName: "HOST:PORT"),
        Flag("docker-socket", .string, default: .string("/var/run/docker.sock"), help: "Docker Engine API socket.", valueName: "PATH"),
        Flag("zone", .string, help: "Availability zone attribute."),
        Flag("machine-group", .string, help: "Machine group attribute."),
        Flag("machine-type", .string, help: "Machine type attribute."),
        Flag("cpu", .double, help: "Cores offered to tasks (default: all)."),
        Flag("memory-mb", .int, help: "Memory offered to tasks (default: all)."),
        Flag("orphan-grace", .duration, default: .duration(.seconds(60)),
             help: "How long a container of no task of this agent lives before it is stopped and removed."),
        Flag("stop-grace", .duration, default: .duration(.seconds(10)), help: "SIGTERM-to-SIGKILL grace when stopping a task."),
        Flag("token", .string, help: "The agent-role token presented to the masters (better: FULLER_TOKEN, which ps does not show).", valueName: "TOKEN"),
        Flag("exit-with-parent", .int, help: "Stop (as on SIGTERM) once this process is no longer the parent (`fuller-master dev` passes its pid).",
             valueName: "PID"),
        Flag("token-file", .string, help: "Tokens the agent's API accepts (the masters' `master` token; never their peer token), ROLE NAME TOKEN per line; reloaded on SIGHUP. Without it the API is open.", valueName: "PATH"),
    ] + MetadataEndpoint.flags + ContainerOptions.flags

    static func run(_ args: ParsedArguments) -> Int32 {
        let id = args.string("id") ?? "a1"
        let logger = Logger(component: "agent").with(["agent": .string(id)])
        guard let (host, port) = hostPort(args.string("api") ?? "127.0.0.1:4710"), let dataDir = args.string("data-dir") else {
            return fail("--api: expected HOST:PORT")
        }
        let claims: (AgentLock, EngineClaim)
        do throws(StartFailure) { claims = try claim(args, dataDir: dataDir, id: id) } catch {
            return fail(error.message, status: error.status)
        }
        let registration = AgentRegistration(id: id, hostname: hostName(), address: "\(host):\(port)",
                                             attributes: attributes(args), resources: resources(args))
        let connection: MasterConnection
        do { connection = try MasterConnection(urls: args.list("masters"), token: args.string("token")) } catch {
            return fail("--masters: \(error)")
        }
        var authenticator: Authenticator?
        if let path = args.string("token-file") {
            do { authenticator = try Authenticator(tokenFile: path, logger: logger) } catch {
                return fail("--token-file: \(error.description)")
            }
            if let refusal = AgentRoutes.tokenFileRefusal(authenticator?.roles ?? []) { return fail("--token-file: \(refusal)") }
            authenticator?.reloadOnHangup()
        } else {
            logger.warn("AUTHENTICATION IS OFF: no --token-file, so anyone who reaches the agent's API can read its /metrics and call any route it grows; give it the masters' `master` token outside a private test network")
        }
        let docker = DockerClient(socketPath: args.string("docker-socket") ?? DockerClient.defaultSocketPath)
        let metrics = AgentMetrics()
        let metadata: MetadataEndpoint
        do {
            metadata = try MetadataEndpoint.start(args, docker: docker, host: metadataHost(id: id, registration.attributes),
                                                  logger: logger.with(["part": .string("metadata")]), metrics: metrics)
        } catch {
            return fail(error.description)
        }
        var executorConfiguration = Executor.Configuration()
        executorConfiguration.supervisor.agentId = id
        executorConfiguration.supervisor.metadataURL = metadata.containerURL
        executorConfiguration.supervisor.orphanGrace = args.duration("orphan-grace") ?? .seconds(60)
        executorConfiguration.supervisor.stopGraceSeconds = Int((args.duration("stop-grace") ?? .seconds(10)).wholeMilliseconds / 1000)
        if let problem = ContainerOptions.apply(args, to: &executorConfiguration) {
            metadata.abandon()
            return fail(problem)
        }
        let executor = Executor(engine: MeasuredDockerEngine(engine: docker, metrics: metrics), configuration: executorConfiguration,
                                logger: logger.with(["part": .string("executor")]), metrics: metrics, callerSink: metadata.service)
        let heartbeat = HeartbeatLoop(configuration: .init(registration: registration), connection: connection,
                                      executor: executor, logger: logger.with(["part": .string("heartbeat")]))
        // `/readyz`: every check must pass.
        let readiness = [AgentRoutes.dockerCheck { executor.health }, AgentRoutes.masterCheck { heartbeat.status },
                         AgentRoutes.ReadinessCheck("metadata") {
                             let (ok, message) = metadata.readiness
                             return AgentRoutes.ReadinessResult(ok: ok, message: message)
                         }]

        var configuration = HTTPServer.Configuration(host: host, port: port)
        configuration.maxConnections = 256
        let router = AgentRoutes.router(readiness: readiness, metrics: metrics.registry)
        let server = HTTPServer(configuration: configuration,
                                handler: AuthGate(router: router, policy: AgentRoutes.access, authenticator: authenticator))
        do { try server.start() } catch {
            metadata.abandon()
            return fail("cannot listen on \(host):\(port): \(error)")
        }
        logger.info("agent serving", ["api": .string("\(host):\(server.port)"), "cpu": .double(registration.resources.cpu),
                                      "memoryMB": .int(Int64(registration.resources.memoryMB))])
        let stopped = DispatchSemaphore(value: 0)
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await executor.run() }
                group.addTask { await heartbeat.run() }
                group.addTask { await metadata.bindUntilServing() }
            }
            stopped.signal()
        }
        let parentWatch = args.int("exit-with-parent").map { ParentWatch.start(parent: pid_t($0)) }
        Termination.wait()
        parentWatch?.cancel()
        logger.info("stopping; containers keep running")
        work.cancel()
        stopped.wait()
        connection.shutdown()
        let serverDown = DispatchSemaphore(value: 0)
        Task {
            await metadata.stop()
            await server.shutdown(grace: .seconds(5))
            serverDown.signal()
        }
        serverDown.wait()
        logger.info("agent stopped")
        _ = claims
        return 0
    }

    /// Why the agent does not start, and its exit status.
    struct StartFailure: Error {
        var message: String
        var status: Int32 = 2
    }

    /// Makes the data directory, takes its lock and claims the id on the engine, unless the
    /// parent to live with is gone already.
    private static func claim(_ args: ParsedArguments, dataDir: String, id: String) throws(StartFailure) -> (AgentLock, EngineClaim) {
        do { try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true) } catch {
            throw StartFailure(message: "cannot create --data-dir \(dataDir): \(error)")
        }
        if let parent = args.int("exit-with-parent"), !ParentWatch.isParent(pid_t(parent)) {
            throw StartFailure(message: "--exit-with-parent: process \(parent) is not this agent's parent (it has exited)")
        }
        let lock: AgentLock
        do throws(AgentLock.Failure) { lock = try AgentLock(directory: dataDir, id: id) } catch {
            if case .held = error { throw StartFailure(message: error.description, status: AgentExitStatus.lockHeld) }
            throw StartFailure(message: error.description)
        }
        do throws(EngineClaim.Failure) {
            return (lock, try EngineClaim(engine: args.string("docker-socket") ?? DockerClient.defaultSocketPath, id: id))
        } catch {
            if case .held = error { throw StartFailure(message: error.description, status: AgentExitStatus.lockHeld) }
            throw StartFailure(message: error.description)
        }
    }

    /// A start-up failure, logged as a JSON line like every other line of the agent.
    private static func fail(_ message: String, status: Int32 = 2) -> Int32 {
        Logger(component: "agent").error("cannot start", ["error": .string(message)])
        return status
    }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        return (String(text[..<colon]), port)
    }

    /// What the metadata endpoint tells every container about this agent.
    static func metadataHost(id: String, _ attributes: [String: String]) -> MetadataHost {
        var system = utsname()
        uname(&system)
        let machine = withUnsafeBytes(of: &system.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MetadataHost(agentId: id, zone: attributes["zone"] ?? "", machineType: attributes["machineType"] ?? "",
                            machineGroup: attributes["machineGroup"] ?? "", architecture: machine == "aarch64" ? "arm64" : machine)
    }

    static func attributes(_ args: ParsedArguments) -> [String: String] {
        var attributes: [String: String] = [:]
        attributes["zone"] = args.string("zone")
        attributes["machineGroup"] = args.string("machine-group")
        attributes["machineType"] = args.string("machine-type")
        return attributes
    }

    /// `--cpu` and `--memory-mb`, or the whole host.
    static func resources(_ args: ParsedArguments) -> Resources {
        let cpu = args.double("cpu") ?? Double(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let memoryMB = args.int("memory-mb") ?? hostMemoryMB() ?? 1024
        return Resources(cpu: cpu, memoryMB: memoryMB)
    }

    /// `MemTotal` from `/proc/meminfo`, in MiB.
    static func hostMemoryMB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib / 1024
        }
        return nil
    }

    static func hostName() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let ok = buffer.withUnsafeMutableBufferPointer { gethostname(UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 255) == 0 }
        guard ok else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}
