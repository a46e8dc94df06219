import Foundation
import Glibc
import Testing
import TestSupport
@testable import Model
@testable import Shared

/// Three real masters, each with its data directory on a small tmpfs of its own; one of them
/// (the leader, or a follower) has its disk filled while clients write. It must fail stop:
/// 503 `storage_failed` on `/readyz`, the API and the agent routes, one log line naming the
/// path and errno; the other two keep electing and acknowledging writes; once space is freed
/// and it is restarted, every acknowledged write is on every member.
///
/// Mounting needs root (the test machines run as root).
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct DiskFullReplicatedMasterTests {
    static let tmpfsBytes = 32 << 20

    @Test(.timeLimit(.minutes(3)), arguments: ["leader", "follower"])
    func fullDiskStopsOneMasterWhileTheOthersCarryOn(_ role: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cluster = try ClusterProcesses(directory: dir.path)
        var mounted: [String] = []
        defer { for path in mounted.reversed() { Self.unmount(path) } }
        defer { cluster.stopAll() }
        for m in cluster.members {
            try FileManager.default.createDirectory(atPath: m.dataDirectory, withIntermediateDirectories: true)
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(Self.tmpfsBytes)", "tmpfs", m.dataDirectory])
            mounted.append(m.dataDirectory)
        }
        try cluster.start(extraArguments: ReplicatedMasterTests.masterArguments)
        let client = ClusterClient(addresses: cluster.members.map(\.apiAddress))
        defer { client.shutdown() }
        _ = try await client.waitForLeader(among: client.addresses)
        let load = ClusterLoad(client: client, prefix: "disk-\(role)")

        try await load.run(writers: 3) {
            try await load.waitForAcknowledged(10, "before the disk filled", logs: cluster.logs())
            let first = try await client.waitForLeader(among: client.addresses)
            let victim = role == "leader" ? cluster.member(apiAddress: first.address)!
                : cluster.members.first { $0.apiAddress != first.address }!
            let others = cluster.members.filter { $0 !== victim }.map(\.apiAddress)
            let filler = victim.dataDirectory + "/filler"
            try Self.fill(filler)
            try await Self.waitForStorageFailed(victim.url, logs: cluster.logs())
            let direct = try HTTPClient(url: victim.url)
            defer { direct.shutdown() }
            let problems = await StorageFailureTests.failStopProblems(direct)
            #expect(problems.isEmpty, "\(problems)")
            _ = try await client.waitForLeader(among: others, after: role == "leader" ? first.term : -1)
            try await load.waitForAcknowledged(30, "after \(victim.name)'s disk filled", logs: cluster.logs())
            let lines = victim.recentLog.split(separator: "\n").filter { $0.contains("storage failed") }
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains(#""errno":28"#) == true && lines.first?.contains(victim.dataDirectory) == true,
                    "\(lines)")

            try FileManager.default.removeItem(atPath: filler)
            try victim.restart()
            try await load.waitForAcknowledged(10, "after \(victim.name) restarted", logs: cluster.logs())
        }

        #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { $0.prefix(5) })")
        let jobs = try await ClusterChecks.identicalStores(cluster, client)
        let problems = try await ClusterChecks.acknowledgedWritesKept(load, jobs: jobs)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    /// Writes `path` until the file system has no byte left.
    static func fill(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        for chunk in [1 << 20, 4 << 10, 1] {
            let bytes = [UInt8](repeating: 0xAB, count: chunk)
            while bytes.withUnsafeBytes({ write(fd, $0.baseAddress, chunk) }) == chunk {}
        }
        guard errno == ENOSPC else { throw TestFailure("filling \(path) stopped with errno \(errno), not ENOSPC") }
    }

    /// Waits until the master at `url` says on `/readyz` that its storage failed.
    static func waitForStorageFailed(_ url: String, within limit: Duration = .seconds(20), logs: @autoclosure () -> String) async throws {
        let client = try HTTPClient(url: url)
        defer { client.shutdown() }
        let deadline = ContinuousClock.now + limit
        var last = "no answer"
        while ContinuousClock.now < deadline {
            if let r = try? await client.send(.GET, "/readyz", timeout: .seconds(2)) {
                if r.status == 503 && StorageFailureTests.errorCode(r) == "storage_failed" { return }
                last = "\(r.status) \(StorageFailureTests.text(r))"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("\(url) still answers /readyz with \(last) \(limit) after its disk filled\n\(logs())")
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("\(tool) \(arguments.joined(separator: " ")): status \(p.terminationStatus)") }
    }

    /// Unmounts, lazily if a process still holds a file there (it is gone at the latest when
    /// that process exits).
    static func unmount(_ path: String) {
        if (try? run("/bin/umount", [path])) == nil { try? run("/bin/umount", ["-l", path]) }
    }
}
