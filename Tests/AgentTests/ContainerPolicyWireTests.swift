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
        #expect(config.mounts == Self.assignment.container.mounts)
        let body = String(decoding: DockerWire.createBody(config), as: UTF8.self)
        #expect(body.contains(#""Privileged":true"#) && body.contains(#""Binds":["/srv/in:/in:ro","/srv/out:/out"]"#), "\(body)")
        #expect(!body.contains("CapDrop") && !body.contains("no-new-privileges"), "a privileged container holds every capability")
        #expect(body.contains(#""PidsLimit":1024"#), "\(body)")
    }

    @Test func anOrdinaryTaskAsksForNeither() {
        var plain = Self.assignment
        plain.container = ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64))
        let body = String(decoding: DockerWire.createBody(Supervisor.createConfig(for: plain, metadataURL: "http://m", agentId: "a1")),
                          as: UTF8.self)
        #expect(!body.contains("Privileged") && !body.contains("Binds"))
    }

    @Test func everyTaskContainerDropsNetRawAndBoundsItsPidsAndLogs() {
        var plain = Self.assignment
        plain.container = ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64))
        let body = String(decoding: DockerWire.createBody(Supervisor.createConfig(for: plain, metadataURL: "http://m", agentId: "a1")),
                          as: UTF8.self)
        #expect(body.contains(#""CapDrop":["NET_RAW"]"#) && body.contains(#""SecurityOpt":["no-new-privileges"]"#), "\(body)")
        #expect(body.contains(#""PidsLimit":1024"#), "\(body)")
        #expect(body.contains(#""LogConfig":{"Type":"json-file","Config":{"max-file":"3","max-size":"10485760"}}"#), "\(body)")
    }

    @Test func theAgentsFlagsSetTheBounds() {
        var hardening = Supervisor.Hardening()
        hardening.capDrop = []
        hardening.noNewPrivileges = false
        hardening.pidsMax = 64
        hardening.logFileBytesMax = 1_048_576
        hardening.logFilesMax = 2
        var plain = Self.assignment
        plain.container = ContainerSpec(image: "img", resources: Resources(cpu: 1, memoryMB: 64))
        let config = Supervisor.createConfig(for: plain, metadataURL: "http://m", agentId: "a1", hardening: hardening)
        let body = String(decoding: DockerWire.createBody(config), as: UTF8.self)
        #expect(!body.contains("CapDrop") && !body.contains("SecurityOpt") && body.contains(#""PidsLimit":64"#), "\(body)")
        #expect(body.contains(#""Config":{"max-file":"2","max-size":"1048576"}"#), "\(body)")
    }
}
