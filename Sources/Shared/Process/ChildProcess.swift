import Dispatch
import Glibc

/// Runs a program to completion with a deadline: stdin from /dev/null, stdout and stderr
/// captured (each up to a limit; the rest is read and dropped so the child never blocks).
/// The autoscaler's provider and the agent's credentials provider both run this way.
///
/// The child gets its own process group and default signal handling (Fuller's processes ignore
/// SIGTERM and SIGINT for their own shutdown, and ignored dispositions would otherwise be
/// inherited). At the deadline the whole group gets SIGTERM, then SIGKILL after `killGrace`,
/// so a provider's own children (an `aws` call) go too; with `killPastStdoutMax`, so does a
/// child that prints more than `stdoutMax`. A child that starts long-lived processes (the local
/// provider's agents) must put them in a session of their own.
///
/// The pipes are created close-on-exec atomically (`pipe2`), so a child that another thread
/// spawns at the same moment never inherits a write end and holds it open.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit status, or nil when a signal ended it.
        public var exitStatus: Int32?
        public var signal: Int32?
        public var stdout: [UInt8]
        /// The last `stderrMax` bytes.
        public var stderr: [UInt8]
        public var timedOut: Bool
        public var stdoutTruncated: Bool
        /// The exit status, or 128 + the signal that ended it (as a shell reports it).
        public var status: Int32 { exitStatus ?? 128 + (signal ?? 0) }
    }

    public enum SpawnError: Error, CustomStringConvertible {
        case failed(String, Int32)
        public var description: String {
            switch self { case let .failed(program, code): "cannot start \(program): \(String(cString: strerror(code)))" }
        }
    }

    /// Blocks the calling thread until the child has exited and its output is read (at most
    /// `timeout` plus `killGrace` plus a last poll); from Swift concurrency, use `run(...) async`.
    public static func run(_ argv: [String], environment: [String: String], timeout: Duration, killGrace: Duration = .seconds(2),
                           stdoutMax: Int = 64 * 1024, stderrMax: Int = 8 * 1024,
                           killPastStdoutMax: Bool = false) throws(SpawnError) -> Result {
        precondition(!argv.isEmpty)
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard Syscalls.pipe2(&outPipe, O_CLOEXEC) == 0 else { throw .failed(argv[0], errno) }
        guard Syscalls.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let code = errno
            for fd in outPipe { close(fd) }
            throw .failed(argv[0], code)
        }
        let pid: pid_t
        do { pid = try spawn(argv, environment: environment, stdout: outPipe[1], stderr: errPipe[1], newSession: false) } catch {
            for fd in outPipe + errPipe { close(fd) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        var reader = Reader(fds: [outPipe[0], errPipe[0]], limits: [stdoutMax, stderrMax])
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var timedOut = false
        while reader.open {
            let left = deadline - clock.now
            if left <= .zero {
                timedOut = true
                break
            }
            reader.poll(milliseconds: Int32(max(1, min(left.wholeMilliseconds, 1_000))))
            if killPastStdoutMax && reader.truncated[0] { break }
        }
        if timedOut { terminateGroup(pid, grace: killGrace, reader: &reader) }
        if killPastStdoutMax && reader.truncated[0] { kill(-pid, SIGKILL) }
        reader.closeAll()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Result(exitStatus: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f,
                      stdout: reader.buffers[0], stderr: reader.buffers[1], timedOut: timedOut, stdoutTruncated: reader.truncated[0])
    }

    /// `run` on a Dispatch thread of its own, handing the outcome to `completion` there. A serial
    /// queue is "overcommit": the wait for the child never takes a thread from the cooperative
    /// pool or from the global queues, which are capped near the core count and would hold up
    /// every timer and handler behind it.
    public static func runInBackground(_ argv: [String], environment: [String: String], timeout: Duration,
                                       killGrace: Duration = .seconds(2), stdoutMax: Int = 64 * 1024,
                                       stderrMax: Int = 8 * 1024, killPastStdoutMax: Bool = false,
                                       completion: @escaping @Sendable (Swift.Result<Result, SpawnError>) -> Void) {
        DispatchQueue(label: "fuller.child-process").async {
            completion(Swift.Result { () throws(SpawnError) in
                try run(argv, environment: environment, timeout: timeout, killGrace: killGrace, stdoutMax: stdoutMax,
                        stderrMax: stderrMax, killPastStdoutMax: killPastStdoutMax)
            })
        }
    }

    /// SIGTERM to the group, a grace to exit (still draining its output), then SIGKILL.
    private static func terminateGroup(_ pid: pid_t, grace: Duration, reader: inout Reader) {
        kill(-pid, SIGTERM)
        let clock = ContinuousClock()
        let end = clock.now + grace
        while reader.open && clock.now < end { reader.poll(milliseconds: 100) }
        kill(-pid, SIGKILL)
    }

    /// posix_spawn with stdin on /dev/null, the given stdout and stderr, default signal
    /// dispositions, an empty signal mask, and a new process group (or a new session).
    public static func spawn(_ argv: [String], environment: [String: String], stdout: Int32, stderr: Int32,
                             newSession: Bool) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        // POSIX_SPAWN_SETSID (glibc 2.26+) is 0x80; Glibc's module does not export it.
        let group = newSession ? Int32(0x80) : Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, Int16(group | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)))
        if !newSession { posix_spawnattr_setpgroup(&attributes, 0) }
        let args = argv.map { strdup($0) } + [nil]
        let env = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in args + env { free(p) } }
        var pid: pid_t = 0
        let code = posix_spawnp(&pid, argv[0], &actions, &attributes, args, env)
        guard code == 0 else { throw .failed(argv[0], code) }
        return pid
    }

    /// Reads several pipes until each is closed, keeping at most a limit of each.
    private struct Reader {
        var fds: [Int32]
        let limits: [Int]
        var buffers: [[UInt8]]
        var truncated: [Bool]
        var open: Bool { fds.contains { $0 >= 0 } }

        init(fds: [Int32], limits: [Int]) {
            self.fds = fds
            self.limits = limits
            buffers = Array(repeating: [], count: fds.count)
            truncated = Array(repeating: false, count: fds.count)
        }

        mutating func poll(milliseconds: Int32) {
            var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard Glibc.poll(&polls, nfds_t(polls.count), milliseconds) > 0 else { return }
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            for i in polls.indices where fds[i] >= 0 && polls[i].revents != 0 {
                let n = read(fds[i], &chunk, chunk.count)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    close(fds[i])
                    fds[i] = -1
                    continue
                }
                append(i, chunk[0..<n])
            }
        }

        /// Standard output keeps its first bytes; standard error its last (the error is at the end).
        private mutating func append(_ i: Int, _ bytes: ArraySlice<UInt8>) {
            if i == 0 {
                let room = limits[0] - buffers[0].count
                if bytes.count > room { truncated[0] = true }
                buffers[0] += bytes.prefix(max(0, room))
            } else {
                buffers[i] += bytes
                if buffers[i].count > limits[i] { buffers[i].removeFirst(buffers[i].count - limits[i]) }
            }
        }

        mutating func closeAll() {
            for i in fds.indices where fds[i] >= 0 { close(fds[i]); fds[i] = -1 }
        }
    }
}
