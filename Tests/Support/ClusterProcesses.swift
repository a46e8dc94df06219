import Foundation
import Glibc

/// A replicated group of real `fuller-master` processes on loopback, for tests that kill, pause
/// and restart masters for real.
///
/// Every member gets fixed API and peer ports, picked before anything starts (a master must
/// know its peers' addresses up front), and its own data directory, so a member can be killed
/// and started again exactly as an operator would restart it. `start(reach:)` decides the
/// address each master uses to reach each other master: its real peer port, or a
/// `FaultProxy` in front of it.
public final class ClusterProcesses: @unchecked Sendable {
    // @unchecked: members' processes are started and killed only by the test that owns this
    // object, from one task at a time; other tasks read only the immutable names and ports.
    public let members: [Member]

    /// Picks ports and directories for `names`; starts nothing.
    public init(names: [String] = ["m1", "m2", "m3"], directory: String) throws {
        members = try names.map { name in
            Member(name: name, dataDirectory: directory + "/" + name, apiPort: try FreePort.pick(), peerPort: try FreePort.pick())
        }
    }

    public subscript(name: String) -> Member {
        guard let m = members.first(where: { $0.name == name }) else { preconditionFailure("no member \(name)") }
        return m
    }

    /// The member whose client API is `address` (`127.0.0.1:PORT`).
    public func member(apiAddress address: String) -> Member? { members.first { $0.apiAddress == address } }

    /// Starts every member and waits until each has logged that it serves.
    ///
    /// `reach(from, to)` is the port `from` uses to reach `to`'s peer port (default: the real
    /// one). Each master's `--peers` lists its own real peer address and these for the others.
    public func start(extraArguments: [String] = [], reach: ((_ from: String, _ to: String) -> Int)? = nil,
                      timeout: Duration = .seconds(30)) throws {
        for m in members {
            let peers = members.map { other in
                let port = other.name == m.name ? other.peerPort : reach?(m.name, other.name) ?? other.peerPort
                return "\(other.name)=127.0.0.1:\(port)"
            }
            m.arguments = ["serve", "--id", m.name, "--data-dir", m.dataDirectory, "--api", m.apiAddress,
                           "--peer", "127.0.0.1:\(m.peerPort)", "--peers", peers.joined(separator: ",")] + extraArguments
            try m.launch()
        }
        for m in members { try m.waitUntilServing(deadline: .now + timeout) }
    }

    /// SIGKILLs every member still running (a paused one too). Safe to call more than once.
    public func stopAll() {
        for m in members { m.kill() }
    }

    /// The tail of every member's log, for a failure message.
    public func logs(bytesEach: Int = 3_000) -> String {
        members.map { "--- \($0.name) ---\n" + String($0.recentLog.suffix(bytesEach)) }.joined(separator: "\n")
    }

    deinit { stopAll() }

    /// One master of the group.
    public final class Member: @unchecked Sendable {
        public let name: String
        public let dataDirectory: String
        public let apiPort: Int
        public let peerPort: Int
        /// The arguments it was started with; a restart reuses them.
        public fileprivate(set) var arguments: [String] = []
        private var process: Process?
        private var log: ChildProcessLog?

        init(name: String, dataDirectory: String, apiPort: Int, peerPort: Int) {
            self.name = name
            self.dataDirectory = dataDirectory
            self.apiPort = apiPort
            self.peerPort = peerPort
        }

        public var apiAddress: String { "127.0.0.1:\(apiPort)" }
        public var url: String { "http://\(apiAddress)" }
        public var isRunning: Bool { process?.isRunning ?? false }
        public var recentLog: String { log?.contents ?? "" }

        fileprivate func launch() throws {
            precondition(!isRunning, "\(name) is already running")
            let pipe = Pipe()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MasterProcess.binary)
            p.arguments = arguments
            p.standardError = pipe
            p.standardOutput = FileHandle.nullDevice
            log = ChildProcessLog(pipe)
            process = p
            try p.run()
        }

        fileprivate func waitUntilServing(deadline: ContinuousClock.Instant) throws {
            guard let log else { throw TestFailure("\(name) was never started") }
            let port = try log.waitForPort(marker: "master serving", deadline: deadline)
            guard port == apiPort else { throw TestFailure("\(name) serves on \(port), expected \(apiPort)") }
        }

        /// Starts it again with the same id, data directory and ports, and waits until it serves.
        public func restart(timeout: Duration = .seconds(30)) throws {
            kill()
            try launch()
            try waitUntilServing(deadline: .now + timeout)
        }

        /// Sends `signal` and, for a fatal one, waits for the process to exit.
        public func kill(_ signal: Int32 = SIGKILL) {
            guard let p = process, p.isRunning else { return }
            Glibc.kill(p.processIdentifier, signal)
            p.waitUntilExit()
        }

        /// Sends `signal` without waiting (e.g. SIGHUP to reload the token file).
        public func signal(_ signal: Int32) {
            guard let p = process, p.isRunning else { return }
            Glibc.kill(p.processIdentifier, signal)
        }

        /// SIGSTOP: the process stays alive but does nothing, as in a long pause.
        public func pause() {
            guard let p = process, p.isRunning else { return }
            Glibc.kill(p.processIdentifier, SIGSTOP)
        }

        /// SIGCONT after `pause()`.
        public func resume() {
            guard let p = process, p.isRunning else { return }
            Glibc.kill(p.processIdentifier, SIGCONT)
        }
    }
}
