import Dispatch
import Glibc
import Shared
import Synchronization
import Testing

/// `ChildProcess` against real programs: output limits, the deadline and the group kill, and
/// descriptors that never leak into a child another thread spawns at the same moment.
@Suite struct ChildProcessTests {
    static let environment = ["PATH": "/usr/bin:/bin"]

    @Test func capturesBothStreamsAndTheStatus() throws {
        let r = try ChildProcess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], environment: Self.environment,
                                     timeout: .seconds(10))
        #expect(r.exitStatus == 3 && r.status == 3 && r.signal == nil && !r.timedOut)
        #expect(r.stdout == Array("out\n".utf8) && r.stderr == Array("err\n".utf8))
    }

    @Test func stdoutKeepsItsFirstBytesAndStderrItsLast() throws {
        let r = try ChildProcess.run(["/bin/sh", "-c", "printf 0123456789; printf abcdefghij >&2"], environment: Self.environment,
                                     timeout: .seconds(10), stdoutMax: 4, stderrMax: 3)
        #expect(r.stdout == Array("0123".utf8) && r.stdoutTruncated && r.stderr == Array("hij".utf8) && r.exitStatus == 0)
    }

    /// Without `killPastStdoutMax` the rest is drained; with it, the group dies at once.
    @Test func aChildPrintingWithoutEndIsKilledPastTheLimit() throws {
        let r = try ChildProcess.run(["/usr/bin/yes"], environment: Self.environment, timeout: .seconds(10),
                                     stdoutMax: 1_024, killPastStdoutMax: true)
        #expect(r.stdoutTruncated && !r.timedOut && r.signal == SIGKILL && r.status == 128 + SIGKILL)
        #expect(r.stdout.count == 1_024)
    }

    /// At the deadline the whole group goes, a grandchild holding the pipe included.
    @Test func theDeadlineKillsTheGroup() throws {
        let started = ContinuousClock.now
        let r = try ChildProcess.run(["/bin/sh", "-c", "sleep 30 & wait"], environment: Self.environment,
                                     timeout: .milliseconds(200), killGrace: .zero)
        #expect(r.timedOut && r.signal != nil)
        #expect(ContinuousClock.now - started < .seconds(25), "the sleeping grandchild did not hold the pipe open")
    }

    @Test func aMissingProgramIsASpawnError() {
        #expect(throws: ChildProcess.SpawnError.self) {
            try ChildProcess.run(["/nonexistent/program"], environment: [:], timeout: .seconds(1))
        }
    }

    /// Many runs on several threads at once, each child listing its open descriptors: none may
    /// hold a pipe of another run (a pipe made by `pipe()` and marked close-on-exec afterwards
    /// leaks into a child spawned in between, which then holds that run's output open).
    @Test func noChildInheritsAnotherRunsPipes() async {
        final class Seen: Sendable { let listings = Mutex<[[Int: String]]>([]) }
        let seen = Seen()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        DispatchQueue(label: "child-process-test").async {
                            for _ in 0..<200 {
                                guard let r = try? ChildProcess.run(["/bin/ls", "-l", "/proc/self/fd"], environment: Self.environment,
                                                                    timeout: .seconds(10)) else { continue }
                                let listing = Self.descriptors(String(decoding: r.stdout, as: UTF8.self))
                                seen.listings.withLock { $0.append(listing) }
                            }
                            done.resume()
                        }
                    }
                }
            }
        }
        let listings = seen.listings.withLock { $0 }
        let ours = Set(listings.flatMap { [$0[1], $0[2]].compactMap { $0 } })
        let leaked = listings.flatMap { $0.filter { $0.key > 2 && ours.contains($0.value) }.map(\.value) }
        #expect(listings.count == 800 && ours.count == 1_600)
        #expect(leaked.isEmpty, "pipes of other runs: \(leaked.prefix(5))")
    }

    /// `N -> target` lines of `ls -l /proc/self/fd`, by descriptor.
    static func descriptors(_ listing: String) -> [Int: String] {
        var result: [Int: String] = [:]
        for line in listing.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let arrow = parts.firstIndex(of: "->"), arrow > 0, arrow + 1 < parts.count,
                  let fd = Int(parts[arrow - 1]) else { continue }
            result[fd] = String(parts[arrow + 1])
        }
        return result
    }

    @Test func runInBackgroundHandsTheResultOver() async throws {
        let r = try await withCheckedContinuation { continuation in
            ChildProcess.runInBackground(["/bin/echo", "hi"], environment: Self.environment, timeout: .seconds(10)) {
                continuation.resume(returning: $0)
            }
        }.get()
        #expect(r.stdout == Array("hi\n".utf8) && r.exitStatus == 0)
    }
}
