import Glibc
import Shared

/// What a Raft node must never forget across a crash: its term, its vote in that term, and the
/// commit index it knows. Written before any message that depends on it is sent.
public struct HardState: Sendable, Equatable {
    public var term: UInt64
    public var votedFor: String?
    public var commit: UInt64

    public init(term: UInt64 = 0, votedFor: String? = nil, commit: UInt64 = 0) {
        self.term = term
        self.votedFor = votedFor
        self.commit = commit
    }
}

/// The hard state on disk, in two fixed slots written in turn.
///
/// A save overwrites the older slot in place and fsyncs it (no rename, no directory fsync: one
/// `pwrite` and one `fdatasync` per vote or term change). A crash mid-write can only tear the
/// slot being written; its checksum fails and `load` returns the other, previous state, which
/// is the state the node had before the save, so it never answered anything from the torn one.
///
/// Slot layout (512 bytes, little-endian): magic `FRHS` | version u32 | sequence u64 |
/// payload length u32 | crc32c u32 (over sequence, length, payload) | payload: term u64,
/// commit u64, vote length u16, vote UTF-8 bytes.
public final class HardStateFile {
    public static let slotBytes = 512
    static let magic: [UInt8] = Array("FRHS".utf8)
    static let version: UInt32 = 1
    static let voteBytesMax = 256

    private let path: String
    private let fd: Int32
    private let fsyncEnabled: Bool
    private var sequence: UInt64

    /// Opens (creating if needed) the file and reads the newest valid slot.
    public static func open(path: String, fsyncEnabled: Bool = true) throws(StorageError) -> (HardStateFile, HardState) {
        let fd = try POSIXFile.open(path, O_RDWR | O_CREAT)
        let bytes: [UInt8]
        do {
            let size = min(try POSIXFile.size(fd, path: path), 2 * slotBytes)
            bytes = try POSIXFile.read(fd, count: size, at: 0, path: path)
        } catch {
            POSIXFile.close(fd)
            throw error
        }
        let slots = [0, 1].compactMap { decode(bytes, slot: $0) }
        guard let newest = slots.max(by: { $0.sequence < $1.sequence }) else {
            if bytes.contains(where: { $0 != 0 }) {
                POSIXFile.close(fd)
                throw StorageError.corrupt(file: path, offset: 0, reason: "neither hard state slot is valid")
            }
            return (HardStateFile(path: path, fd: fd, fsyncEnabled: fsyncEnabled, sequence: 0), HardState())
        }
        return (HardStateFile(path: path, fd: fd, fsyncEnabled: fsyncEnabled, sequence: newest.sequence), newest.state)
    }

    private init(path: String, fd: Int32, fsyncEnabled: Bool, sequence: UInt64) {
        self.path = path
        self.fd = fd
        self.fsyncEnabled = fsyncEnabled
        self.sequence = sequence
    }

    deinit { POSIXFile.close(fd) }

    /// Durably records `state`: when this returns, a crash cannot lose it.
    public func save(_ state: HardState) throws(StorageError) {
        let vote = Array((state.votedFor ?? "").utf8)
        precondition(vote.count <= Self.voteBytesMax, "node ids are at most \(Self.voteBytesMax) bytes")
        sequence += 1
        let slot = Self.encode(state, vote: vote, sequence: sequence)
        let offset = Int(sequence % 2) * Self.slotBytes
        try slot.withStorageBytes { (raw) throws(StorageError) in try POSIXFile.write(fd, raw, at: offset, path: path) }
        if fsyncEnabled { try POSIXFile.sync(fd, path: path) }
    }

    static func encode(_ state: HardState, vote: [UInt8], sequence: UInt64) -> [UInt8] {
        var payload: [UInt8] = []
        WALRecord.appendLittleEndian(state.term, to: &payload)
        WALRecord.appendLittleEndian(state.commit, to: &payload)
        WALRecord.appendLittleEndian(UInt16(vote.count), to: &payload)
        payload += vote
        var checked: [UInt8] = []
        WALRecord.appendLittleEndian(sequence, to: &checked)
        WALRecord.appendLittleEndian(UInt32(payload.count), to: &checked)
        checked += payload
        var slot = magic
        WALRecord.appendLittleEndian(version, to: &slot)
        WALRecord.appendLittleEndian(sequence, to: &slot)
        WALRecord.appendLittleEndian(UInt32(payload.count), to: &slot)
        WALRecord.appendLittleEndian(CRC32C.checksum(checked), to: &slot)
        slot += payload
        slot += [UInt8](repeating: 0, count: slotBytes - slot.count)
        return slot
    }

    static func decode(_ bytes: [UInt8], slot: Int) -> (sequence: UInt64, state: HardState)? {
        bytes.withUnsafeBytes { decode($0, slot: slot) }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, slot: Int) -> (sequence: UInt64, state: HardState)? {
        let base = slot * slotBytes
        guard bytes.count >= base + slotBytes, Array(bytes[base..<base + 4]) == magic,
              WALRecord.load(UInt32.self, bytes, base + 4) == version else { return nil }
        let sequence = WALRecord.load(UInt64.self, bytes, base + 8)
        let length = Int(WALRecord.load(UInt32.self, bytes, base + 16))
        let crc = WALRecord.load(UInt32.self, bytes, base + 20)
        guard length >= 18, 24 + length <= slotBytes else { return nil }
        let payload = Array(bytes[base + 24..<base + 24 + length])
        var checked: [UInt8] = []
        WALRecord.appendLittleEndian(sequence, to: &checked)
        WALRecord.appendLittleEndian(UInt32(length), to: &checked)
        checked += payload
        guard CRC32C.checksum(checked) == crc else { return nil }
        let p = base + 24
        let voteLength = Int(WALRecord.load(UInt16.self, bytes, p + 16))
        guard 18 + voteLength == length else { return nil }
        let vote = String(decoding: payload[18...], as: UTF8.self)
        return (sequence, HardState(term: WALRecord.load(UInt64.self, bytes, p), votedFor: vote.isEmpty ? nil : vote,
                                    commit: WALRecord.load(UInt64.self, bytes, p + 8)))
    }
}
