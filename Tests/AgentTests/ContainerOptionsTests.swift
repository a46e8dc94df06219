import Testing
@testable import Agent
import Model
import Shared
import TestSupport

/// The agent's container flags as the command line gives them.
@Suite struct ContainerOptionsTests {
    static func apply(_ words: [String]) throws -> (Executor.Configuration, String?) {
        let spec = CommandSpec("fuller-agent", summary: "test", flags: ContainerOptions.flags)
        guard case .run(let args) = try ArgumentParser.parse(words, for: spec, environment: [:]) else {
            throw TestFailure("no run")
        }
        var configuration = Executor.Configuration()
        let problem = ContainerOptions.apply(args, to: &configuration)
        return (configuration, problem)
    }

    @Test func theDefaultsAreLeastPrivilegeAndBounded() throws {
        let (configuration, problem) = try Self.apply([])
        #expect(problem == nil)
        #expect(configuration.policy == AgentPolicy())
        #expect(configuration.supervisor.hardening == Supervisor.Hardening())
        #expect(configuration.supervisor.hardening.capDrop == ["NET_RAW"] && configuration.supervisor.hardening.noNewPrivileges)
    }

    @Test func everyFlagReachesTheConfiguration() throws {
        let (configuration, problem) = try Self.apply([
            "--allow-privileged", "--allow-docker-socket", "--host-mount-allow", "/srv/data,/mnt/shared", "--allow-net-raw",
            "--allow-new-privileges", "--container-pids-max", "64", "--container-log-file-mb", "2", "--container-log-files", "5",
        ])
        #expect(problem == nil)
        #expect(configuration.policy == AgentPolicy(allowPrivileged: true, allowDockerSocket: true, hostMountPrefixes: ["/srv/data", "/mnt/shared"]))
        let hardening = configuration.supervisor.hardening
        #expect(hardening.capDrop.isEmpty && !hardening.noNewPrivileges && hardening.pidsMax == 64)
        #expect(hardening.logFileBytesMax == 2 * 1024 * 1024 && hardening.logFilesMax == 5)
    }

    @Test(arguments: [(["--host-mount-allow", "srv/data"], "--host-mount-allow"), (["--container-pids-max", "0"], "--container-pids-max"),
                      (["--container-log-file-mb", "0"], "--container-log-file-mb"), (["--container-log-files", "101"], "--container-log-files")])
    func badValuesAreRefused(_ words: [String], _ flag: String) throws {
        #expect(try Self.apply(words).1?.hasPrefix(flag) == true)
    }
}
