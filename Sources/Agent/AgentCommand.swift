import Dispatch
import Foundation
import Glibc
import Shared

/// The agent's command line (DESIGN.md) and its start-up.
enum AgentCommand {
    static let flags: [Flag] = [
        Flag("id", .string, default: .string("a1"), help: "This agent's id."),
        Flag("masters", .list, default: .list(["http://127.0.0.1:4700"]), help: "Every master's API URL.", valueName: "URLS"),
        Flag("data-dir", .string, default: .string("/var/lib/fuller/agent"), help: "Directory for the agent's state.", valueName: "DIR"),
        Flag("api", .string, default: .string("127.0.0.1:4710"), help: "Address of the agent's API.", valueName: "HOST:PORT"),
        Flag("metadata", .string, default: .string("127.0.0.1:4711"), help: "Address of the metadata endpoint.", valueName: "HOST:PORT"),
        Flag("docker-socket", .string, default: .string("/var/run/docker.sock"), help: "Docker Engine API socket.", valueName: "PATH"),
        Flag("zone", .string, help: "Availability zone attribute."),
        Flag("machine-group", .string, help: "Machine group attribute."),
        Flag("cpu", .double, help: "Cores offered to tasks (default: all)."),
        Flag("memory-mb", .int, help: "Memory offered to tasks (default: all)."),
    ]

    static func run(_ args: ParsedArguments) -> Int32 {
        let api = args.string("api") ?? "127.0.0.1:4710"
        guard let colon = api.lastIndex(of: ":"), let port = Int(api[api.index(after: colon)...]), (0...65_535).contains(port) else {
            FileHandle.standardError.write(Data("fuller-agent: --api: expected HOST:PORT, got \"\(api)\"\n".utf8))
            return 2
        }
        let logger = Logger(component: "agent").with(["agent": .string(args.string("id") ?? "a1")])
        var configuration = HTTPServer.Configuration(host: String(api[..<colon]), port: port)
        configuration.maxConnections = 256
        let server = HTTPServer(configuration: configuration, handler: AgentRoutes.router())
        do { try server.start() } catch {
            FileHandle.standardError.write(Data("fuller-agent: cannot listen on \(api): \(error)\n".utf8))
            return 1
        }
        logger.info("agent serving", ["api": .string("\(configuration.host):\(server.port)")])
        waitForTermination()
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await server.shutdown(grace: .seconds(5))
            stopped.signal()
        }
        stopped.wait()
        logger.info("agent stopped")
        return 0
    }

    /// Blocks until SIGINT or SIGTERM.
    static func waitForTermination() {
        let done = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        sources.forEach { $0.cancel() }
    }
}

/// The agent's HTTP routes.
enum AgentRoutes {
    static func router() -> Router {
        var router = Router()
        router.add(.GET, "/healthz") { _, _, respond in
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8)))
        }
        return router
    }
}
