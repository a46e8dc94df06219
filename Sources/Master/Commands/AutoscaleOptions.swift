import Autoscaler
import Foundation
import Model
import Shared

/// The autoscaling flags of `serve` and `dev`, and what `dev --autoscale` sets up: the local
/// provider (`fuller-master local-provider`) with its agents under the data directory, and
/// default rules when no file is given.
enum AutoscaleOptions {
    static let flags: [Flag] = [
        Flag("autoscale-rules", .string, help: "Autoscale agent groups by the rules in this JSON file (docs/autoscaler.md).", valueName: "FILE"),
        Flag("autoscale-interval", .duration, default: .duration(.seconds(5)), help: "How often the leader evaluates the rules."),
    ]

    static let devFlags: [Flag] = [
        Flag("autoscale", .bool, help: "Instead of one local agent, grow and shrink local agents with the local provider."),
    ]

    /// The rules `dev --autoscale` uses without a file: one group of 2-cpu agents in two zones.
    static let devRules = #"""
    {"provider": {"command": ["local-provider"]},
     "groups": [{"name": "dev", "minSize": 1, "maxSize": 4, "minIdle": 0, "maxIdle": 0, "cooldownSeconds": 10,
                 "shape": {"cpu": 2, "memoryMB": 2048, "zones": ["dev-a", "dev-b"]}}]}
    """#

    static func settings(_ args: ParsedArguments, dev: Bool, dataDirectory: String) throws(UsageError) -> AutoscalerLoop.Settings? {
        let autoscaleDev = dev && args.bool("autoscale")
        var rules: AutoscalerRules
        if let path = args.string("autoscale-rules") {
            guard let data = FileManager.default.contents(atPath: path) else { throw UsageError(message: "--autoscale-rules: cannot read \(path)") }
            do { rules = try AutoscalerRules(json: [UInt8](data)) } catch {
                throw UsageError(message: "--autoscale-rules \(path): \(error.description)")
            }
        } else if autoscaleDev {
            rules = try! AutoscalerRules(json: Array(devRules.utf8))
        } else {
            return nil
        }
        if autoscaleDev { rules.provider = localProvider(rules.provider, args: args, dataDirectory: dataDirectory) }
        let interval = args.duration("autoscale-interval") ?? .seconds(5)
        guard interval >= .milliseconds(100) else { throw UsageError(message: "--autoscale-interval: at least 100ms") }
        return AutoscalerLoop.Settings(rules: rules, interval: interval)
    }

    /// Where `dev --autoscale` keeps its agents.
    static func stateDirectory(dataDirectory: String) -> String { dataDirectory + "/autoscaled-agents" }

    /// The local provider in place of the file's command; its timeouts, retries and
    /// environment (which may set `FULLER_AGENT_ARGS`, `FULLER_ID_PREFIX`, …) are kept.
    private static func localProvider(_ given: ProviderConfiguration, args: ParsedArguments,
                                      dataDirectory: String) -> ProviderConfiguration {
        var provider = given
        provider.command = [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, "local-provider"]
        var environment = ["FULLER_STATE_DIR": stateDirectory(dataDirectory: dataDirectory),
                           "FULLER_DOCKER_SOCKET": args.string("docker-socket") ?? "/var/run/docker.sock"]
        for (key, value) in given.environment { environment[key] = value }
        provider.environment = environment
        return provider
    }

    /// `dev --autoscale` on its way out: stops the local agents (parked: the next run restarts
    /// them with the same ids and they adopt their containers).
    static func stopLocalAgents(dataDirectory: String) {
        let dir = stateDirectory(dataDirectory: dataDirectory)
        _ = LocalProvider.scaleDown(LocalProvider.agentIds(in: dir).filter { LocalProvider.state(of: $0, dir: dir) == .running },
                                    dir: dir, marker: "parked")
    }
}
