import Testing
@testable import Agent
import Model
import Shared

/// A task's secretEnv, privileged flag and mounts as the agent hands them to Docker.
@Suite struct ContainerPolicyWireTests {
    static let assignment = TaskAssignment(
        taskId: "t1", jobId: "j1", index: 0, attempt: 0,
        container: ContainerSpec(image: "img", env: ["A": "1"], secretEnv: ["TOKEN": "s3cret-value"],
                                 resources: Resources(cpu: 1, memoryMB: 64), privileged: true,
                                 mounts: [Mount(hostPath: "/srv/in", containerPath: "/in"),
                                          Mount(hostPath: "/srv/out", containerPath: "/out", readOnly: false)]),
        runtimeLimitSeconds: nil)

    @Test func theContainerGetsSecretsPrivilegeAndBinds() {
        let config = Supervisor.createConfig(for: Self.assignment, metadataURL: "http://m", agentId: "a1")
        #expect(config.env["A"] == "1" && config.env["TOKEN"] == "s3cret-value")
        #expect(config.privileged)
        #expect(config.binds == ["/srv/in:/in:ro", "/srv/out:/out"])
        let body = String(decoding: DockerWire.createBody(config), as: UTF8.self)
        #expect(body.contains(#""Privileged":true"#) && body.contains(#""Binds":["/srv/in:/in:ro","/srv/out:/out"]"#), "\(body)")
    }

    @Test func anOrdinaryTaskAsksForNeither() {
        var plain = Self.assignment
        plain.container = ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64))
        let body = String(decoding: DockerWire.createBody(Supervisor.createConfig(for: plain, metadataURL: "http://m", agentId: "a1")),
                          as: UTF8.self)
        #expect(!body.contains("Privileged") && !body.contains("Binds"))
    }
}
