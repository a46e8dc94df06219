import Dispatch
import Foundation
import Glibc
import Model
import Shared
import Synchronization

/// The metadata endpoint as `fuller-agent` runs it: flags, the listening address (by default
/// the Docker bridge's gateway, asked of the engine), the HTTP server around `MetadataService`,
/// and the DNAT rule for `169.254.169.254`. See docs/metadata.md.
///
/// Start-up is synchronous and happens before the executor starts, because every container's
/// `FULLER_METADATA_URL` depends on its outcome: `http://169.254.169.254` when the DNAT rule is
/// in place, else `http://HOST:PORT`.
final class MetadataEndpoint: Sendable {
    static let flags: [Flag] = [
        Flag("metadata", .string, default: .string("bridge:4711"),
             help: "Address of the container metadata endpoint; the host `bridge` means the Docker bridge's gateway.",
             valueName: "HOST:PORT"),
        Flag("metadata-dnat", .bool, default: .bool(true),
             help: "DNAT 169.254.169.254:80 to the metadata endpoint with iptables (--no-metadata-dnat: off)."),
        Flag("region", .string, help: "Region in the metadata (default: the zone without its last letter)."),
        Flag("credentials-command", .string,
             help: "Provider of IAM credentials for the metadata endpoint, run as PATH TASK_ID JOB_ID (default: none, iam/ is 404).",
             valueName: "PATH"),
        Flag("credentials-timeout", .duration, default: .duration(.seconds(5)), help: "How long the credentials provider may run."),
    ]

    /// How long start-up waits for the engine to say where its bridge is.
    static let gatewayWait: Duration = .seconds(30)

    let service: MetadataService
    let server: HTTPServer
    /// The rule this endpoint installed, removed by `stop`.
    let dnat: MetadataDNAT?
    /// `FULLER_METADATA_URL` for the containers.
    let containerURL: String

    private init(service: MetadataService, server: HTTPServer, dnat: MetadataDNAT?, containerURL: String) {
        self.service = service
        self.server = server
        self.dnat = dnat
        self.containerURL = containerURL
    }

    /// Whether the endpoint accepts requests (for `/readyz`).
    var isServing: Bool { server.port != 0 }

    /// Resolves the address, listens, and installs the DNAT rule when asked to and possible.
    static func start(_ args: ParsedArguments, docker: DockerClient, host: MetadataHost,
                      logger: Logger, metrics: AgentMetrics) throws(MetadataStartError) -> MetadataEndpoint {
        let text = args.string("metadata") ?? "bridge:4711"
        guard let (name, port) = AgentCommand.hostPort(text) else { throw .address("--metadata: expected HOST:PORT, got \(text)") }
        let address = name == "bridge" ? try bridgeGateway(docker) : name
        var credentials: CredentialsCommand?
        if let path = args.string("credentials-command") {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw .address("--credentials-command: \(path) is not an executable file")
            }
            credentials = CredentialsCommand(path: path, timeout: args.duration("credentials-timeout") ?? .seconds(5))
        }
        var metadataHost = host
        if let region = args.string("region") { metadataHost.region = region }
        let service = MetadataService(configuration: .init(host: metadataHost, credentials: credentials), logger: logger, metrics: metrics)
        var configuration = HTTPServer.Configuration(host: address, port: port)
        configuration.maxConnections = 4_096
        configuration.maxBodyBytes = 4 * 1024
        let server = HTTPServer(configuration: configuration, handler: service)
        do { try server.start() } catch {
            throw .listen("cannot listen on \(address):\(port) for metadata: \(error)")
        }
        let listening = "\(address):\(server.port)"
        let dnat = args.bool("metadata-dnat") ? installDNAT(to: listening, address: address, logger: logger) : nil
        let url = dnat == nil ? "http://\(listening)" : "http://\(MetadataDNAT.address)"
        logger.info("metadata serving", ["metadata": .string(listening), "url": .string(url)])
        return MetadataEndpoint(service: service, server: server, dnat: dnat, containerURL: url)
    }

    /// Removes the DNAT rule and stops serving.
    func stop() async {
        dnat?.remove()
        await server.shutdown(grace: .seconds(1))
    }

    /// `stop` for a start-up that fails after the endpoint started: removes the rule and
    /// starts the server's shutdown without waiting for it (the process is about to exit).
    func abandon() {
        dnat?.remove()
        server.beginShutdown(grace: .zero)
    }

    /// The rule, or nil (logged) when it cannot or need not be installed: containers cannot
    /// reach a loopback or wildcard address through DNAT.
    private static func installDNAT(to destination: String, address: String, logger: Logger) -> MetadataDNAT? {
        guard let iptables = MetadataDNAT.findIPTables() else {
            logger.warn("no DNAT for 169.254.169.254: iptables not found")
            return nil
        }
        guard !address.hasPrefix("127."), address != "0.0.0.0", address != "localhost", !address.contains(":") else {
            logger.info("no DNAT for 169.254.169.254: the endpoint listens on \(address), which containers cannot reach")
            return nil
        }
        guard let interface = MetadataDNAT.interface(holding: address) else {
            logger.warn("no DNAT for 169.254.169.254: no interface holds \(address), so the rule could not be scoped to the bridge")
            return nil
        }
        let rule = MetadataDNAT(destination: destination, interface: interface, iptables: iptables)
        do {
            try rule.install()
            return rule
        } catch {
            logger.warn("no DNAT for 169.254.169.254", ["error": .string(error.description)])
            return nil
        }
    }

    /// The bridge's gateway, asking the engine until it answers or `gatewayWait` passes.
    private static func bridgeGateway(_ docker: DockerClient) throws(MetadataStartError) -> String {
        let result = Mutex<Result<String, MetadataStartError>>(.failure(.gateway("not asked")))
        let done = DispatchSemaphore(value: 0)
        Task {
            let deadline = ContinuousClock.now + gatewayWait
            var backoff = Backoff(initial: .milliseconds(250), max: .seconds(5))
            while true {
                do throws(DockerError) {
                    if let gateway = try await docker.gateway() {
                        result.withLock { $0 = .success(gateway) }
                    } else {
                        result.withLock { $0 = .failure(.gateway("the Docker network bridge has no IPv4 gateway")) }
                    }
                    break
                } catch {
                    result.withLock { $0 = .failure(.gateway("cannot ask Docker for the bridge's gateway: \(error)")) }
                }
                if ContinuousClock.now >= deadline { break }
                try? await Task.sleep(for: backoff.next())
            }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0 }.get()
    }
}
