import Testing
@testable import Master
import Shared
import TestSupport

/// `fuller-master dev` hands its job policy to the local agent, which checks it again.
@Suite struct DevAgentPolicyTests {
    static func arguments(_ words: [String]) throws -> [String] {
        guard case .run(let args) = try ArgumentParser.parse(words, for: ServeCommand.dev, environment: [:]) else {
            throw TestFailure("no run")
        }
        return DevAgent.policyArguments(args)
    }

    @Test func theLocalAgentGetsTheMastersPolicy() throws {
        #expect(try Self.arguments([]) == [])
        #expect(try Self.arguments(["--allow-privileged", "--allow-host-mounts", "--allow-docker-socket", "--agent-host-mount-allow", "/srv/a,/srv/b"])
                == ["--allow-privileged", "--allow-docker-socket", "--host-mount-allow", "/srv/a,/srv/b"])
    }
}
