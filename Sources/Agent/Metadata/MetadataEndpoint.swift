import Dispatch
import Foundation
import Glibc
import Model
import Shared
import Synchronization

/// The metadata endpoint as `fuller-agent` runs it: flags, the listening address (by default
/// the host's address on the Docker bridge, chosen by `BridgeAddress`), the HTTP server around
/// `MetadataService`, and the DNAT rule for `169.254.169.254`. See docs/metadata.md.
///
/// Every container's `FULLER_METADATA_URL` is fixed when the agent starts, before the executor
/// does: `http://169.254.169.254` when the DNAT rule is (or will be) in place, else
/// `http://HOST:PORT`. The endpoint need not be listening by then: an engine that does not
/// answer yet, or a bridge that does not exist yet (podman's comes with the first container),
/// leaves it pending, `/readyz` says why, and `bindUntilServing` retries
/// with a bounded backoff until it listens (and then installs the DNAT rule).
final class MetadataEndpoint: Sendable {
    static let flags: [Flag] = [
        Flag("metadata", .string, default: .string("bridge:4711"),
             help: "Address of the container metadata endpoint; the host `bridge` means the host's address on the Docker bridge.",
             valueName: "HOST:PORT"),
        Flag("metadata-dnat", .bool, default: .bool(true),
             help: "DNAT 169.254.169.254:80 to the metadata endpoint with iptables (--no-metadata-dnat: off)."),
        Flag("region", .string, help: "Region in the metadata (default: the zone without its last letter)."),
        Flag("credentials-command", .string,
             help: "Provider of IAM credentials for the metadata endpoint, run as PATH TASK_ID JOB_ID (default: none, iam/ is 404).",
             valueName: "PATH"),
        Flag("credentials-timeout", .duration, default: .duration(.seconds(5)), help: "How long the credentials provider may run."),
    ]

    /// Without DNAT, how long start-up waits for the engine to answer where its bridge is
    /// (the containers' URL needs the address).
    static let engineWait: Duration = .seconds(30)
    /// The pause between binding attempts while the endpoint is pending: doubling, at most this.
    static let bindRetryMax: Duration = .seconds(5)

    /// What was asked: `--metadata HOST:PORT`, and whether to DNAT (nil: no).
    struct Plan: Sendable {
        /// `bridge`, or an address to listen on.
        var host: String
        var port: Int
        var iptables: String?
        var isBridge: Bool { host == "bridge" }
    }

    fileprivate enum Binding {
        case pending(String)
        case serving(HTTPServer, MetadataDNAT?, dnatProblem: String?)
        case stopped
    }

    let service: MetadataService
    let plan: Plan
    /// `FULLER_METADATA_URL` for the containers.
    let containerURL: String
    /// The address `containerURL` names when it is not the DNAT one: retries bind only there.
    private let fixedAddress: String?
    private let docker: DockerClient
    private let logger: Logger
    private let binding: Mutex<Binding>

    private init(service: MetadataService, plan: Plan, containerURL: String, fixedAddress: String?, docker: DockerClient,
                 logger: Logger, binding: Binding) {
        self.service = service
        self.plan = plan
        self.containerURL = containerURL
        self.fixedAddress = fixedAddress
        self.docker = docker
        self.logger = logger
        self.binding = Mutex(binding)
    }

    /// For `/readyz`: serving, with its DNAT rule when the containers were told to use it; or why not.
    var readiness: (ok: Bool, message: String?) {
        let viaDNAT = containerURL == "http://\(MetadataDNAT.address)"
        return binding.withLock { binding in
            switch binding {
            case .serving(_, _, dnatProblem: let problem?) where viaDNAT: (false, problem)
            case .serving: (true, nil)
            case .pending(let why): (false, "the metadata endpoint is not listening yet: \(why)")
            case .stopped: (false, "the metadata endpoint is stopped")
            }
        }
    }

    /// Listens when it can, and decides the containers' URL. Throws only for bad flags, or when
    /// the URL cannot be known: no DNAT and no address for the bridge.
    static func start(_ args: ParsedArguments, docker: DockerClient, host: MetadataHost,
                      logger: Logger, metrics: AgentMetrics) throws(MetadataStartError) -> MetadataEndpoint {
        let text = args.string("metadata") ?? "bridge:4711"
        guard let (name, port) = AgentCommand.hostPort(text) else { throw .address("--metadata: expected HOST:PORT, got \(text)") }
        let plan = Plan(host: name, port: port, iptables: dnatTool(wanted: args.bool("metadata-dnat"), host: name, logger: logger))
        let service = try makeService(args, host: host, logger: logger, metrics: metrics)
        let address = plan.isBridge ? bridgeAddress(docker, wait: plan.iptables == nil ? engineWait : .zero, logger: logger) : .success(name)
        var first = Binding.pending(address.failure ?? "not tried")
        if case .success(let chosen) = address { first = bind(plan, address: chosen, service: service, logger: logger) }
        let url: String
        switch (first, plan.iptables, address) {
        case (.serving(let server, let dnat, _), _, .success(let chosen)):
            url = dnat == nil ? "http://\(chosen):\(server.port)" : "http://\(MetadataDNAT.address)"
        case (_, _?, _):
            url = "http://\(MetadataDNAT.address)"
        case (_, nil, .success(let chosen)) where port != 0:
            url = "http://\(chosen):\(port)"
        default:
            throw .gateway("the containers' metadata URL cannot be known: \(first.pendingReason ?? "no address"); pass --metadata HOST:PORT or allow the DNAT rule")
        }
        if case .pending(let why) = first {
            logger.warn("metadata endpoint pending; retrying", ["why": .string(why), "url": .string(url)])
        } else {
            logger.info("metadata url for containers", ["url": .string(url)])
        }
        // Without DNAT the containers were told the address itself: only that one will do.
        let fixed = plan.iptables == nil ? address.success : nil
        return MetadataEndpoint(service: service, plan: plan, containerURL: url, fixedAddress: fixed, docker: docker, logger: logger,
                                binding: first)
    }

    /// While pending, tries again with a bounded backoff until it listens or the task is
    /// cancelled. Returns at once when already serving.
    func bindUntilServing() async {
        var backoff = Backoff(initial: .milliseconds(250), max: Self.bindRetryMax)
        while case .pending = binding.withLock({ $0 }) {
            do { try await Task.sleep(for: backoff.next()) } catch { return }
            let address: Result<String, Failure>
            if let fixedAddress {
                address = .success(fixedAddress)
            } else if plan.isBridge {
                do throws(DockerError) {
                    address = try await docker.bridgeAddress().map { .success($0.address) } ?? .failure(Self.noAddress)
                } catch {
                    address = .failure(Failure("cannot ask Docker for the bridge: \(error)"))
                }
            } else {
                address = .success(plan.host)
            }
            let next: Binding = switch address {
            case .success(let chosen): Self.bind(plan, address: chosen, service: service, logger: logger)
            case .failure(let failure): .pending(failure.message)
            }
            let kept = binding.withLock { current -> Bool in
                guard case .pending = current else { return false }
                current = next
                return true
            }
            if !kept, case .serving(let server, let dnat, _) = next {
                dnat?.remove()
                server.beginShutdown(grace: .zero)
            }
        }
    }

    /// Removes the DNAT rule and stops serving.
    func stop() async {
        let old = binding.withLock { binding in defer { binding = .stopped }; return binding }
        guard case .serving(let server, let dnat, _) = old else { return }
        dnat?.remove()
        await server.shutdown(grace: .seconds(1))
    }

    /// `stop` for a start-up that fails after the endpoint started: removes the rule and
    /// starts the server's shutdown without waiting for it (the process is about to exit).
    func abandon() {
        let old = binding.withLock { binding in defer { binding = .stopped }; return binding }
        guard case .serving(let server, let dnat, _) = old else { return }
        dnat?.remove()
        server.beginShutdown(grace: .zero)
    }

    /// One attempt: listen on `address`, then install the DNAT rule when planned.
    private static func bind(_ plan: Plan, address: String, service: MetadataService, logger: Logger) -> Binding {
        var configuration = HTTPServer.Configuration(host: address, port: plan.port)
        configuration.maxConnections = 4_096
        configuration.maxBodyBytes = 4 * 1024
        let server = HTTPServer(configuration: configuration, handler: service)
        do { try server.start() } catch {
            return .pending("cannot listen on \(address):\(plan.port): \(error)")
        }
        let listening = "\(address):\(server.port)"
        var dnat: MetadataDNAT?
        var problem: String?
        if let iptables = plan.iptables {
            // The rule matches only packets arriving on the interface that holds the address
            // (the bridge), so it redirects this agent's containers and nobody else's.
            if let interface = MetadataDNAT.interface(holding: address) {
                let rule = MetadataDNAT(destination: listening, interface: interface, iptables: iptables)
                do {
                    try rule.install()
                    dnat = rule
                } catch {
                    problem = "no DNAT for 169.254.169.254: \(error.description)"
                }
            } else {
                problem = "no DNAT for 169.254.169.254: no interface holds \(address), so the rule could not be scoped to the bridge"
            }
            if let problem { logger.warn("no DNAT for 169.254.169.254", ["error": .string(problem)]) }
        }
        logger.info("metadata serving", ["metadata": .string(listening), "dnat": .bool(dnat != nil)])
        return .serving(server, dnat, dnatProblem: problem)
    }

    private static func makeService(_ args: ParsedArguments, host: MetadataHost, logger: Logger,
                                    metrics: AgentMetrics) throws(MetadataStartError) -> MetadataService {
        var credentials: CredentialsCommand?
        if let path = args.string("credentials-command") {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw .address("--credentials-command: \(path) is not an executable file")
            }
            credentials = CredentialsCommand(path: path, timeout: args.duration("credentials-timeout") ?? .seconds(5))
        }
        var metadataHost = host
        if let region = args.string("region") { metadataHost.region = region }
        return MetadataService(configuration: .init(host: metadataHost, credentials: credentials), logger: logger, metrics: metrics)
    }

    /// The `iptables` to install the rule with, or nil (logged) when it cannot or need not be
    /// installed: containers cannot reach a loopback or wildcard address through DNAT.
    private static func dnatTool(wanted: Bool, host: String, logger: Logger) -> String? {
        guard wanted else { return nil }
        guard let iptables = MetadataDNAT.findIPTables() else {
            logger.warn("no DNAT for 169.254.169.254: iptables not found")
            return nil
        }
        guard !host.hasPrefix("127."), host != "0.0.0.0", host != "localhost", !host.contains(":") else {
            logger.info("no DNAT for 169.254.169.254: the endpoint listens on \(host), which containers cannot reach")
            return nil
        }
        return iptables
    }

    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    static let noAddress = Failure("the Docker network bridge has no IPv4 gateway, interface address or subnet")

    /// The host's address on the bridge, asking the engine until it answers or `wait` passes
    /// (at least once). An answer without an address ends the wait: the bridge may come later.
    private static func bridgeAddress(_ docker: DockerClient, wait: Duration, logger: Logger) -> Result<String, Failure> {
        let result = Mutex<Result<String, Failure>>(.failure(Failure("not asked")))
        let done = DispatchSemaphore(value: 0)
        Task {
            let deadline = ContinuousClock.now + wait
            var backoff = Backoff(initial: .milliseconds(250), max: .seconds(5))
            while true {
                do throws(DockerError) {
                    let chosen = try await docker.bridgeAddress()
                    if let chosen { logger.info("bridge address", ["address": .string(chosen.address), "from": .string("\(chosen.source)")]) }
                    result.withLock { $0 = chosen.map { .success($0.address) } ?? .failure(noAddress) }
                    break
                } catch {
                    result.withLock { $0 = .failure(Failure("cannot ask Docker for the bridge: \(error)")) }
                }
                if ContinuousClock.now >= deadline { break }
                try? await Task.sleep(for: backoff.next())
            }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }
}

private extension Result where Failure == MetadataEndpoint.Failure {
    var failure: String? { if case .failure(let failure) = self { failure.message } else { nil } }
    var success: Success? { try? get() }
}

private extension MetadataEndpoint.Binding {
    var pendingReason: String? { if case .pending(let why) = self { why } else { nil } }
}
