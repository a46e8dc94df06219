import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent

/// A `dockerd` of the test's own, so a test may stop and start it without disturbing anyone
/// else's containers on the shared engine.
///
/// It has its own socket, data root, exec root, containerd namespace and a bridge the test
/// creates (loopback-only: no iptables rules, no masquerading, no forwarding). It never runs
/// with `--bridge none`, which makes dockerd delete the host's `docker0`. The test image is
/// copied in from the shared engine with `docker save | docker load`.
final class PrivateDockerDaemon: @unchecked Sendable {
    // @unchecked: only the test that owns it touches `process`.
    let directory: String
    let bridge: String
    let socketPath: String
    private var process: Process?

    /// Starts one, or returns nil after saying why (not root, no dockerd, …): in CI that is a
    /// recorded failure, elsewhere a printed warning, as for `DockerTestEnvironment`.
    static func start(sourceLocation: SourceLocation = #_sourceLocation) async -> PrivateDockerDaemon? {
        let problem: String
        if getuid() != 0 {
            problem = "a private dockerd needs root"
        } else if Self.which("dockerd") == nil || Self.which("ip") == nil || Self.which("docker") == nil {
            problem = "dockerd, docker or ip is missing"
        } else {
            let daemon = PrivateDockerDaemon()
            do {
                try await daemon.setUp()
                return daemon
            } catch {
                await daemon.tearDown()
                problem = "could not start a private dockerd: \(error)"
            }
        }
        if DockerTestEnvironment.isCI {
            Issue.record("\(problem)", sourceLocation: sourceLocation)
        } else {
            print("⚠️  SKIPPED \(sourceLocation.fileName):\(sourceLocation.line): \(problem)")
        }
        return nil
    }

    private init() {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        directory = "/tmp/fuller-dockerd-\(tag)"
        bridge = "fe2e\(tag)"  // at most 12 characters: interface names stop at 15
        socketPath = directory + "/docker.sock"
    }

    var client: DockerClient { DockerClient(socketPath: socketPath) }

    private func setUp() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.run("ip", "link", "add", bridge, "type", "bridge")
        try Self.run("ip", "addr", "add", "10.213.0.1/24", "dev", bridge)
        try Self.run("ip", "link", "set", bridge, "up")
        try await startDaemon()
        try Self.run("sh", "-c", "docker save \(DockerTestEnvironment.image) | docker -H unix://\(socketPath) load -q")
    }

    /// Starts dockerd and waits until it answers (at most 60 s).
    func startDaemon() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.which("dockerd")!)
        process.arguments = ["--host", "unix://\(socketPath)", "--data-root", directory + "/root",
                             "--exec-root", directory + "/exec", "--pidfile", directory + "/docker.pid",
                             "--bridge", bridge, "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                             "--containerd-namespace", "fuller-e2e", "--containerd-plugins-namespace", "fuller-e2e-plugins"]
        let log = FileHandle(forWritingAtPath: directory + "/dockerd.log")
            ?? { FileManager.default.createFile(atPath: directory + "/dockerd.log", contents: nil)
                 return FileHandle(forWritingAtPath: directory + "/dockerd.log")! }()
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? await client.ping()) != nil { return }
            guard process.isRunning else { throw TestFailure("dockerd exited; see \(directory)/dockerd.log") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("dockerd did not answer within 60 s")
    }

    /// SIGTERM, and waits for it to exit (it stops its containers first).
    func stopDaemon() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    func tearDown() async {
        if process?.isRunning == true, let containers = try? await client.listContainers(labels: [:], all: true) {
            for container in containers { try? await client.removeContainer(container.id, force: true) }
        }
        stopDaemon()
        try? Self.run("ip", "link", "del", bridge)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func which(_ name: String) -> String? {
        ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/", "/usr/local/bin/"].map { $0 + name }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: which(arguments[0]) ?? arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
