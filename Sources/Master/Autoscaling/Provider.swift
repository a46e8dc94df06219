import Autoscaler
import Foundation
import Model
import Shared

/// Where the autoscaler's scale-ups and scale-downs go. One call per action, made off the
/// autoscaler's own queue; it may take as long as the provider's timeout times its attempts.
protocol AutoscalerProvider: Sendable {
    func perform(_ action: AutoscalerAction, group: GroupRule, context: ProviderContext) -> ActionOutcome
}

/// What every provider call is told besides the action.
struct ProviderContext: Sendable {
    /// The master's API URL, where new agents register.
    var masterURL: String
    /// The group's registered agents now.
    var currentSize: Int
}

/// The provider protocol (docs/autoscaler.md): runs `COMMAND... scale-up GROUP COUNT` or
/// `COMMAND... scale-down GROUP AGENT-ID...` with the group's shape in `FULLER_*` variables,
/// and reads one JSON object from its standard output:
/// `{"ok": true, "agents": ["i-0abc"], "message": "…"}` (`agents` and `message` optional).
/// Exit 0 with `"ok": true` succeeds; anything else (a non-zero exit, `"ok": false`, no or
/// bad JSON, a timeout) fails the attempt, and failed attempts are retried after a doubling
/// delay. Every attempt of one action carries the same `FULLER_REQUEST_ID`, so a provider
/// can recognise a retry of a call whose answer was lost.
struct ExecutableProvider: AutoscalerProvider {
    let configuration: ProviderConfiguration
    let logger: Logger
    /// Checked between attempts: a stopping master gives up instead of retrying.
    let stopping: @Sendable () -> Bool

    func perform(_ action: AutoscalerAction, group: GroupRule, context: ProviderContext) -> ActionOutcome {
        let argv = configuration.command + arguments(action)
        let environment = self.environment(action, group: group, context: context)
        var delay = configuration.retryDelayMilliseconds
        var lastError = ""
        let attempts = configuration.retries + 1
        for attempt in 1...attempts {
            switch once(argv, environment) {
            case .success(let reply):
                return .succeeded(agentIds: reply.agents, message: reply.message, attempts: attempt)
            case .failure(let error):
                lastError = error.message
                logger.warn("autoscaler provider failed", ["group": .string(group.name), "kind": .string(action.kind.rawValue),
                                                           "attempt": .int(Int64(attempt)), "error": .string(error.message)])
            }
            guard attempt < attempts, !stopping() else { break }
            Thread.sleep(forTimeInterval: Double(delay) / 1_000)
            delay = min(delay * 2, 60_000)
        }
        return .failed(message: lastError, attempts: attempts)
    }

    func arguments(_ action: AutoscalerAction) -> [String] {
        switch action.kind {
        case .scaleUp: ["scale-up", action.group, String(action.count)]
        case .scaleDown: ["scale-down", action.group] + action.agentIds
        case .drain, .undrain: preconditionFailure("\(action.kind) is done in the master, not by the provider")
        }
    }

    func environment(_ action: AutoscalerAction, group: GroupRule, context: ProviderContext) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in configuration.environment { env[key] = value }
        let shape = group.shape
        env["FULLER_MASTER_URL"] = context.masterURL
        env["FULLER_GROUP"] = group.name
        env["FULLER_REQUEST_ID"] = "autoscaler-\(action.atMs)-\(action.id)"
        env["FULLER_CURRENT_SIZE"] = String(context.currentSize)
        env["FULLER_DESIRED_SIZE"] = String(action.desiredSize)
        env["FULLER_AGENT_CPU"] = String(shape.resources.cpu)
        env["FULLER_AGENT_MEMORY_MB"] = String(shape.resources.memoryMB)
        env["FULLER_AGENT_ZONES"] = shape.zones.joined(separator: ",")
        env["FULLER_AGENT_MACHINE_TYPE"] = shape.machineType ?? ""
        return env
    }

    struct Reply: Equatable {
        var agents: [String]
        var message: String?
    }

    struct Failure: Error, Equatable { var message: String }

    private func once(_ argv: [String], _ environment: [String: String]) -> Result<Reply, Failure> {
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(argv, environment: environment, timeout: .milliseconds(configuration.timeoutMilliseconds))
        } catch {
            return .failure(Failure(message: error.description))
        }
        return Self.interpret(result, timeoutMilliseconds: configuration.timeoutMilliseconds)
    }

    /// Turns a finished provider run into its reply or the reason it failed.
    static func interpret(_ r: ChildProcess.Result, timeoutMilliseconds: Int64) -> Result<Reply, Failure> {
        let stderr = String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let tail = stderr.isEmpty ? "" : ": " + String(stderr.suffix(500))
        if r.timedOut { return .failure(Failure(message: "timed out after \(timeoutMilliseconds / 1_000) s; killed\(tail)")) }
        let parsed = parse(r.stdout, truncated: r.stdoutTruncated)
        guard r.exitStatus == 0 else {
            let how = r.exitStatus.map { "exited with status \($0)" } ?? "killed by signal \(r.signal ?? 0)"
            if case .failure(let f) = parsed, f.message.hasPrefix("the provider says") { return parsed }
            return .failure(Failure(message: how + tail))
        }
        return parsed
    }

    /// Reads `{"ok": Bool, "agents": [String]?, "message": String?}`, strictly.
    static func parse(_ stdout: [UInt8], truncated: Bool) -> Result<Reply, Failure> {
        guard !truncated else { return .failure(Failure(message: "its output is larger than 64 KiB")) }
        let text = String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return .failure(Failure(message: "it printed no JSON on standard output")) }
        do {
            var r = try ObjectReader(try JSONParser.parse(text), path: "")
            guard let ok = try r.bool("ok") else { return .failure(Failure(message: "its JSON has no \"ok\"")) }
            let reply = Reply(agents: try r.stringArray("agents") ?? [], message: try r.string("message"))
            try r.finish()
            return ok ? .success(reply) : .failure(Failure(message: "the provider says: " + (reply.message ?? "not ok")))
        } catch let e as FieldError {
            return .failure(Failure(message: "its JSON is not a provider reply: \(e.description)"))
        } catch {
            return .failure(Failure(message: "its output is not JSON: \(error)"))
        }
    }
}
