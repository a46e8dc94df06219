#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif
import Model
import Shared

/// Everything a CLI verb touches outside itself: output streams, input files, the network, time
/// and randomness. `standard()` is the real process; tests replace each piece, so no test sleeps,
/// reads a file or opens a socket.
struct CLIIO {
    /// Writes text to standard output exactly as given.
    var writeOutput: (String) -> Void
    /// Writes text to standard error exactly as given.
    var writeError: (String) -> Void
    /// Reads `path`, or standard input for `-`; more than `limitBytes` is a usage error.
    var readInput: (_ path: String, _ limitBytes: Int) throws(CLIFailure) -> [UInt8]
    /// A transport to the master at `server`.
    var connect: (_ server: String) throws(CLIFailure) -> any CLITransport
    /// Blocks for `duration`.
    var sleep: (Duration) -> Void
    /// A monotonic reading; only differences between readings mean anything.
    var monotonicNow: () -> Duration
    /// Wall-clock time, for the AGE column.
    var wallClockNow: () -> Timestamp
    /// A fresh `Idempotency-Key` for one submit (and all of its retries).
    var newIdempotencyKey: () -> String

    func print(_ line: String) { writeOutput(line + "\n") }
    func printError(_ line: String) { writeError(line + "\n") }

    /// The real process: descriptors 1 and 2, the file system, `HTTPClient`, the system clocks.
    static func standard() -> CLIIO {
        let output = FileDescriptorLogSink(descriptor: 1)
        let origin = ContinuousClock.now
        return CLIIO(
            writeOutput: { output.write($0) },
            writeError: { FileDescriptorLogSink.standardError.write($0) },
            readInput: { (path, limit) throws(CLIFailure) in try InputFile.read(path, limitBytes: limit) },
            connect: { (server) throws(CLIFailure) in try HTTPClientTransport(server: server) },
            sleep: { duration in
                var request = timespec(tv_sec: Int(duration.components.seconds),
                                       tv_nsec: Int(duration.components.attoseconds / 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            },
            monotonicNow: { origin.duration(to: .now) },
            wallClockNow: { Timestamp.now() },
            newIdempotencyKey: { "cli-" + ID.random() })
    }
}

/// Reads a whole input file (or standard input) with a bound on its size.
enum InputFile {
    static func read(_ path: String, limitBytes: Int) throws(CLIFailure) -> [UInt8] {
        let name = path == "-" ? "standard input" : path
        let descriptor = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .usage("cannot open \(path): \(errorText())") }
        defer { if descriptor != 0 { close(descriptor) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .usage("cannot read \(name): \(errorText())")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limitBytes else {
                throw .usage("\(name) is larger than \(limitBytes) bytes, the most a job may be")
            }
        }
    }

    private static func errorText() -> String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }
}
