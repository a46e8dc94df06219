import Glibc

/// Everything that can go wrong in the write-ahead log, snapshots and group commit.
///
/// `corrupt` means data that was once written whole is now wrong: the node must stop and an
/// operator must look, because carrying on could drop acknowledged writes. `io` is the operating
/// system refusing (disk full, permissions); the log that saw it is failed and refuses further work.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A record or snapshot at `offset` in `file` fails its checksum or framing, and it is not a
    /// torn tail (valid data follows it, or it is in a segment that was complete).
    case corrupt(file: String, offset: Int, reason: String)
    /// A system call failed; `operation` names it and the file.
    case io(String, errno: Int32)
    /// A payload of `bytes` bytes is over `max`, the configured `recordBytesMax`.
    case recordTooLarge(bytes: Int, max: Int)
    /// An append whose index is not the log's last index + 1, or a snapshot older than the newest.
    case outOfOrder(expected: UInt64, got: UInt64)
    /// A read or truncation outside what the log holds.
    case indexOutOfRange(UInt64, firstIndex: UInt64, lastIndex: UInt64)
    /// The group-commit queue is full; the caller should shed load (HTTP 503) and retry later.
    case overloaded
    /// The log was closed.
    case closed

    public var description: String {
        switch self {
        case let .corrupt(file, offset, reason):
            return "storage corrupt: \(file) at byte offset \(offset): \(reason)"
        case let .io(operation, errno):
            return "storage I/O error: \(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        case let .recordTooLarge(bytes, max):
            return "record of \(bytes) bytes is over the \(max)-byte limit"
        case let .outOfOrder(expected, got):
            return "index out of order: expected \(expected), got \(got)"
        case let .indexOutOfRange(index, first, last):
            return "index \(index) is outside the log (first \(first), last \(last))"
        case .overloaded:
            return "storage overloaded: too many records waiting to be written"
        case .closed:
            return "storage closed"
        }
    }
}
