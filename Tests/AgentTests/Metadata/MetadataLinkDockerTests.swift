import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The caller's MAC check against the host's real neighbour table: the endpoint listens on the
/// Docker bridge's gateway and a real container asks it.
@Suite struct MetadataLinkDockerTests {
    @Test(.timeLimit(.minutes(1)))
    func aContainerIsAnsweredOnlyWhileTheNeighbourEntryShowsItsOwnMAC() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let metrics = AgentMetrics()
        let service = MetadataService(configuration: .init(host: MetadataResponderTests.host),
                                      logger: Logger(component: "test", sink: CapturingLogSink()), metrics: metrics)
        let name = "fuller-test-link-\(UInt32.random(in: 0...UInt32.max))"
        var config = ContainerCreateConfig(image: DockerTestEnvironment.image, command: ["sleep", "60"])
        config.labels = ["fuller.test": name]
        let id = try await docker.createContainer(name: name, config)
        var server: HTTPServer?
        do {
            try await docker.startContainer(id)
            // The container's own gateway (the bridge's address on the host), which a first-started
            // engine may not report for the network yet.
            let inspected = try docker.parseJSON(try await docker.call(.GET, "/containers/\(id)/json"))
            let gateway = try #require(inspected["NetworkSettings"]?["Gateway"]?.stringValue)
            let listening = HTTPServer(configuration: HTTPServer.Configuration(host: gateway, port: 0), handler: service)
            server = listening
            try listening.start()
            let details = try await docker.inspectContainer(id)
            let ip = try #require(details.ipAddress)
            let mac = try #require(details.macAddress, "Docker gave the container no MAC address")
            let shell = ContainerShell(containerId: id)
            let port = String(listening.port)
            service.callersChanged([MetadataResponderTests.identity(ip: ip, macAddress: mac)], starting: 0)
            let genuine = try shell.http("GET", "/latest/meta-data/instance-id", host: gateway, port: port)
            #expect(genuine.status == 200 && genuine.body == "t1", "\(genuine)")
            // The same request, the host's entry for the IP now naming another MAC than the container's.
            service.callersChanged([MetadataResponderTests.identity(ip: ip, macAddress: "02:00:00:00:00:01")], starting: 0)
            let forged = try shell.http("GET", "/latest/meta-data/instance-id", host: gateway, port: port)
            #expect(forged.status == 403 && forged.body.contains("link-layer"), "\(forged)")
            #expect(metrics.metadataLinkMismatches.value == 1)
        } catch {
            try? await docker.removeContainer(id, force: true)
            await server?.shutdown(grace: .zero)
            throw error
        }
        try? await docker.removeContainer(id, force: true)
        await server?.shutdown(grace: .zero)
    }
}
