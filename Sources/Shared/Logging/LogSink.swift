#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif
import Synchronization

/// Where finished log lines go. `write` receives one whole line, newline included, and must not
/// interleave it with a line written from another thread.
public protocol LogSink: Sendable {
    func write(_ line: String)
}

/// Writes lines to a file descriptor (standard error by default).
///
/// Each line goes out in one `write(2)` call. A lock around the call keeps lines whole even when
/// the kernel accepts only part of a long line and the rest needs a second call; the lock is per
/// sink, so share one sink per descriptor.
public final class FileDescriptorLogSink: LogSink {
    private let descriptor: Mutex<Int32>

    /// Standard error, shared by every logger that does not ask for another sink.
    public static let standardError = FileDescriptorLogSink(descriptor: 2)

    /// A sink for `descriptor`, which the caller keeps open for the sink's lifetime.
    public init(descriptor: Int32) { self.descriptor = Mutex(descriptor) }

    public func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            descriptor.withLock { fd in
                var offset = 0
                while offset < bytes.count {
                    let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return  // Nowhere left to report a failing log stream; drop the line.
                    }
                    offset += written
                }
            }
        }
    }
}

/// Keeps lines in memory, for tests that check what was logged.
public final class CapturingLogSink: LogSink {
    private let captured = Mutex<[String]>([])

    public init() {}

    public func write(_ line: String) { captured.withLock { $0.append(line) } }

    /// The lines written so far, without their trailing newlines.
    public var lines: [String] { captured.withLock { $0.map { String($0.dropLast()) } } }
}
