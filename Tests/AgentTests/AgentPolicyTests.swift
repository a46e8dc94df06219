import Foundation
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The agent's own policy against real paths (`realpath` on a temporary tree): host mounts only
/// under `--host-mount-allow`, resolved; privileged and the Docker socket only when allowed.
@Suite struct AgentPolicyTests {
    /// `root/data/file`, `root/data2`, `root/other`, `root/data/escape` → `/etc`,
    /// `root/data/inner` → `root/other`, `root/alias` → `root/data`.
    static func tree() throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        let files = FileManager.default
        for directory in ["data", "data2", "other"] {
            try files.createDirectory(atPath: "\(root.path)/\(directory)", withIntermediateDirectories: true)
        }
        try "x".write(toFile: "\(root.path)/data/file", atomically: true, encoding: .utf8)
        try files.createSymbolicLink(atPath: "\(root.path)/data/escape", withDestinationPath: "/etc")
        try files.createSymbolicLink(atPath: "\(root.path)/data/inner", withDestinationPath: "\(root.path)/other")
        try files.createSymbolicLink(atPath: "\(root.path)/alias", withDestinationPath: "\(root.path)/data")
        return root
    }

    static func config(_ hostPaths: [String], privileged: Bool = false) -> ContainerCreateConfig {
        var config = ContainerCreateConfig(image: "img")
        config.privileged = privileged
        config.mounts = hostPaths.map { Mount(hostPath: $0, containerPath: "/in") }
        return config
    }

    static func refusal(_ policy: AgentPolicy, _ hostPaths: [String], privileged: Bool = false) -> FieldError? {
        if case .failure(let refusal) = policy.admit(config(hostPaths, privileged: privileged)) { return refusal }
        return nil
    }

    @Test func aPathUnderAnAllowedPrefixIsBoundByItsResolvedPath() throws {
        let root = try Self.tree()
        defer { root.remove() }
        let real = try #require(AgentPolicy.realPath(root.path))
        // The prefix is given through a symlink and the mount with `.` and a doubled slash.
        let policy = AgentPolicy(hostMountPrefixes: ["\(root.path)/alias"])
        let admitted = try policy.admit(Self.config(["\(root.path)/data", "\(root.path)/data/./file", "\(root.path)//alias/file"])).get()
        #expect(admitted.mounts.map(\.hostPath) == ["\(real)/data", "\(real)/data/file", "\(real)/data/file"])
    }

    @Test(arguments: [
        ("data/escape", "outside"),          // a symlink out of the allowed tree
        ("data/escape/passwd", "outside"),
        ("data/inner", "outside"),           // a symlink to a sibling directory
        ("data/../other", "outside"),        // `..`
        ("data2", "outside"),                // the prefix's text, not a component under it
        ("data/missing", "does not exist"),  // Docker would create it as root
    ])
    func escapesAreRefused(_ relative: String, _ reason: String) throws {
        let root = try Self.tree()
        defer { root.remove() }
        let refusal = Self.refusal(AgentPolicy(hostMountPrefixes: ["\(root.path)/data"]), ["\(root.path)/\(relative)"])
        #expect(refusal?.field == "container.mounts[0].hostPath", "\(relative)")
        #expect(refusal?.message.contains(reason) == true, "\(relative): \(String(describing: refusal))")
    }

    @Test func withoutAnAllowListNoHostPathIsMounted() throws {
        let root = try Self.tree()
        defer { root.remove() }
        #expect(Self.refusal(AgentPolicy(), ["\(root.path)/data"])?.message.contains("--host-mount-allow") == true)
        #expect(Self.refusal(AgentPolicy(hostMountPrefixes: ["\(root.path)/nowhere"]), ["\(root.path)/data"]) != nil)
        #expect(Self.refusal(AgentPolicy(), []) == nil, "a container without mounts needs no allow-list")
    }

    @Test func theDockerSocketStaysRefusedUnderABroadPrefix() throws {
        let everything = AgentPolicy(hostMountPrefixes: ["/"])
        for path in ["/var/run", "/run", "/var/run/docker.sock"] where FileManager.default.fileExists(atPath: path) {
            #expect(Self.refusal(everything, [path])?.message.contains("--allow-docker-socket") == true, "\(path)")
            #expect(Self.refusal(AgentPolicy(allowDockerSocket: true, hostMountPrefixes: ["/"]), [path]) == nil, "\(path)")
        }
    }

    @Test func privilegedNeedsTheAgentsOwnFlag() {
        #expect(Self.refusal(AgentPolicy(), [], privileged: true)?.field == "container.privileged")
        #expect(Self.refusal(AgentPolicy(allowPrivileged: true), [], privileged: true) == nil)
    }

    @Test(arguments: [("/srv/data", "/srv/data", true), ("/srv/data/x", "/srv/data", true), ("/srv/data2", "/srv/data", false),
                      ("/srv", "/srv/data", false), ("/anything", "/", true)])
    func withinIsOnComponentBoundaries(_ path: String, _ prefix: String, _ within: Bool) {
        #expect(AgentPolicy.isWithin(path, prefix) == within)
    }
}
