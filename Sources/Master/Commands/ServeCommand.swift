import Dispatch
import Foundation
import Glibc
import Shared

/// `fuller-master serve` and `fuller-master dev`.
enum ServeCommand {
    static let serverFlags: [Flag] = [
        Flag("data-dir", .string, help: "Directory for the WAL and snapshots.", valueName: "DIR"),
        Flag("api", .string, default: .string("127.0.0.1:4700"), help: "Address the HTTP API listens on.", valueName: "HOST:PORT"),
        Flag("fsync", .bool, default: .bool(true), help: "fsync the WAL before acknowledging writes (turn off only for throwaway data)."),
        Flag("snapshot-every", .int, default: .int(50_000), help: "Write a snapshot every N log entries."),
        Flag("max-connections", .int, default: .int(4_096), help: "Open HTTP connections at most."),
        Flag("max-body-bytes", .int, default: .int(1 << 20), help: "Largest request body accepted."),
        Flag("max-active-jobs", .int, default: .int(100_000), help: "Unfinished jobs the store accepts at most."),
        Flag("log-level", .string, default: .string("info"), help: "debug, info, warn or error."),
    ] + AutoscaleOptions.flags + ReconcileFlags.flags + SchedulerFlags.flags + AuthOptions.flags

    static let serve = CommandSpec("serve", summary: "Run a master.", flags: serverFlags + [
        Flag("id", .string, default: .string("m1"), help: "This master's id."),
        Flag("peer", .string, help: "Address this master listens on for its peers (default: its own entry in --peers).", valueName: "HOST:PORT"),
        Flag("peers", .list, help: "Every master of the group as id=HOST:PORT (peer addresses, this one included); none for a single master.", valueName: "LIST"),
        Flag("advertise-api", .string, help: "The API address the other masters redirect clients to (default: --api, with 0.0.0.0 as 127.0.0.1); set it when --api is 0.0.0.0 or clients reach the API through a TLS tunnel.", valueName: "HOST:PORT"),
        Flag("join", .bool, help: "Join a running group (added with `cluster add`) instead of bootstrapping a new one."),
        Flag("catch-up-entries", .int, default: .int(10_000),
             help: "Log entries kept before each snapshot, so a follower that far behind catches up from entries, not a whole snapshot."),
    ] + AuthOptions.serveFlags)

    static let dev = CommandSpec("dev", summary: "Run a development cluster: one master and one local agent (or, with --autoscale, autoscaled local agents).",
                                 flags: serverFlags + DevAgent.flags + AutoscaleOptions.devFlags)

    static func run(_ args: ParsedArguments, dev: Bool) -> Int32 {
        do {
            var config = MasterNode.Configuration(dataDirectory: args.string("data-dir") ?? defaultDataDirectory(dev: dev))
            (config.apiHost, config.apiPort) = try parseAddress(args.string("api") ?? "127.0.0.1:4700", flag: "api")
            if !dev {
                config.id = args.string("id") ?? "m1"
                if let advertised = args.string("advertise-api") {
                    _ = try parseAddress(advertised, flag: "advertise-api")
                    config.advertisedAPI = advertised
                }
            }
            config.fsync = args.bool("fsync")
            config.snapshotEveryEntries = UInt64(max(1, args.int("snapshot-every") ?? 50_000))
            config.http.maxConnections = args.int("max-connections") ?? 4_096
            config.http.maxBodyBytes = args.int("max-body-bytes") ?? 1 << 20
            config.store.activeJobsMax = max(1, args.int("max-active-jobs") ?? 100_000)
            guard let level = LogLevel(rawValue: args.string("log-level") ?? "info") else {
                throw UsageError(message: "--log-level: must be debug, info, warn or error")
            }
            config.logLevel = level
            try ReconcileFlags.apply(args, to: &config)
            config.scheduler = try SchedulerFlags.configuration(args)
            if !dev { config.cluster = try clusterConfiguration(args, config: config) }
            config.autoscaler = try AutoscaleOptions.settings(args, dev: dev, dataDirectory: config.dataDirectory)
            let autoscaleDev = dev && args.bool("autoscale")
            let auth = try AuthOptions.setup(args, dev: dev, replicated: config.cluster != nil,
                                             logger: Logger(component: "master", minimumLevel: level).with(["node": .string(config.id)]))
            config.authenticator = auth.authenticator
            config.jobPolicy = AuthOptions.jobPolicy(args)
            config.cluster?.authenticator = auth.authenticator
            config.cluster?.peerToken = auth.peerToken
            let node = try MasterNode.start(config)
            let agent = dev && !autoscaleDev ? try DevAgent.start(args, masterURL: "http://\(config.apiHost == "0.0.0.0" ? "127.0.0.1" : config.apiHost):\(node.apiPort)",
                                                 dataDirectory: config.dataDirectory + "/agent", token: auth.devAgentToken,
                                                 logger: node.logger) : nil
            Termination.wait()
            agent?.stop()
            let stopped = DispatchSemaphore(value: 0)
            Task {
                await node.shutdown()
                stopped.signal()
            }
            stopped.wait()
            if autoscaleDev { AutoscaleOptions.stopLocalAgents(dataDirectory: config.dataDirectory) }
            return 0
        } catch let e as UsageError {
            Logger(component: "master").error("invalid command line", ["error": .string(e.message)])
            return 2
        } catch {
            Logger(component: "master").error("cannot start", ["error": .string("\(error)")])
            return 1
        }
    }

    /// `--peers` with two or more members makes this master one of a replicated group.
    static func clusterConfiguration(_ args: ParsedArguments, config: MasterNode.Configuration) throws(UsageError) -> RaftCluster.Configuration? {
        var members: [String: String] = [:]
        for item in args.list("peers") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw UsageError(message: "--peers: expected id=HOST:PORT, got \"\(item)\"") }
            _ = try parseAddress(String(parts[1]), flag: "peers")
            guard members.updateValue(String(parts[1]), forKey: String(parts[0])) == nil else {
                throw UsageError(message: "--peers: \(parts[0]) is listed twice")
            }
        }
        guard members.count >= 2 else { return nil }
        guard let own = members[config.id] else { throw UsageError(message: "--peers must list this master (--id \(config.id))") }
        let (peerHost, peerPort) = try parseAddress(args.string("peer") ?? own, flag: "peer")
        let api = config.advertisedAPI ?? "\(config.apiHost == "0.0.0.0" ? "127.0.0.1" : config.apiHost):\(config.apiPort)"
        return RaftCluster.Configuration(name: config.id, members: members, peerHost: peerHost, peerPort: peerPort,
                                         apiAddress: api, dataDirectory: config.dataDirectory + "/raft", fsync: config.fsync,
                                         snapshotEveryEntries: config.snapshotEveryEntries,
                                         catchUpMargin: DurableRaftStorage.CatchUpMargin(entries: UInt64(max(0, args.int("catch-up-entries") ?? 10_000))),
                                         join: args.bool("join"))
    }

    static func defaultDataDirectory(dev: Bool) -> String {
        dev ? FileManager.default.currentDirectoryPath + "/.fuller-dev" : "/var/lib/fuller/master"
    }

    /// Splits `HOST:PORT` (IPv6 as `[::1]:4700`).
    static func parseAddress(_ text: String, flag: String) throws(UsageError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else {
            throw UsageError(message: "--\(flag): expected HOST:PORT, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

struct UsageError: Error {
    var message: String
}
