import Glibc
import Shared

/// What a Raft node must never forget across a crash: its term, its vote in that term, and the
/// commit index it knows. Written before any message that depends on it is sent.
public struct StoredHardState: Sendable, Equatable {
    public var term: UInt64
    public var vote: UInt64
    public var commit: UInt64

    /// The node voted for in `term`; 0 for nobody.
    public init(term: UInt64 = 0, vote: UInt64 = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The hard state on disk, in two fixed slots written in turn.
///
/// A save overwrites the older slot in place and fsyncs it (no rename, no directory fsync: one
/// `pwrite` and one `fdatasync` per vote or term change; the file and its directory are synced
/// once per `open`, which covers the file's creation). A crash mid-write can only tear the
/// slot being written; its checksum fails and `load` returns the other, previous state, which
/// is the state the node had before the save, so it never answered anything from the torn one.
///
/// Slot layout (512 bytes, little-endian): magic `FRHS` | version u32 | sequence u64 |
/// payload length u32 | crc32c u32 (over sequence, length, payload) | payload: term u64,
/// vote u64, commit u64.
public final class HardStateFile {
    public static let slotBytes = 512
    static let magic: [UInt8] = Array("FRHS".utf8)
    static let version: UInt32 = 1
    static let payloadBytes = 24

    private let path: String
    private let fd: Int32
    private let fsyncEnabled: Bool
    private var sequence: UInt64

    /// Opens (creating if needed) the file and reads the newest valid slot.
    /// The file and its directory entry are made durable before it returns, so a state saved in
    /// it later cannot vanish with the entry in a crash. (Every open syncs, not only the one that
    /// creates the file: a crash right after creating it leaves a file whose entry may not be
    /// durable yet, and the next open must finish that.)
    public static func open(path: String, fsyncEnabled: Bool = true) throws(StorageError) -> (HardStateFile, StoredHardState) {
        let fd = try POSIXFile.open(path, O_RDWR | O_CREAT)
        let bytes: [UInt8]
        do {
            if fsyncEnabled {
                try POSIXFile.sync(fd, path: path)
                try POSIXFile.syncDirectory(directory(of: path))
            }
            let size = min(try POSIXFile.size(fd, path: path), 2 * slotBytes)
            bytes = try POSIXFile.read(fd, count: size, at: 0, path: path)
        } catch {
            POSIXFile.close(fd)
            throw error
        }
        let slots = [0, 1].compactMap { decode(bytes, slot: $0) }
        guard let newest = slots.max(by: { $0.sequence < $1.sequence }) else {
            // No valid slot. If one slot was never written, at most one save was ever attempted
            // and it was torn: nothing was said on the strength of it, so starting fresh is safe.
            // Two written, damaged slots are a disk problem to report, not to paper over.
            let padded = bytes + [UInt8](repeating: 0, count: 2 * slotBytes - bytes.count)
            let neverWritten = [0, 1].contains { slot in padded[slot * slotBytes..<(slot + 1) * slotBytes].allSatisfy { $0 == 0 } }
            if !neverWritten {
                POSIXFile.close(fd)
                throw StorageError.corrupt(file: path, offset: 0, reason: "neither hard state slot is valid")
            }
            return (HardStateFile(path: path, fd: fd, fsyncEnabled: fsyncEnabled, sequence: 0), StoredHardState())
        }
        return (HardStateFile(path: path, fd: fd, fsyncEnabled: fsyncEnabled, sequence: newest.sequence), newest.state)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private init(path: String, fd: Int32, fsyncEnabled: Bool, sequence: UInt64) {
        self.path = path
        self.fd = fd
        self.fsyncEnabled = fsyncEnabled
        self.sequence = sequence
    }

    deinit { POSIXFile.close(fd) }

    /// Durably records `state`: when this returns, a crash cannot lose it.
    public func save(_ state: StoredHardState) throws(StorageError) {
        sequence += 1
        let slot = Self.encode(state, sequence: sequence)
        let offset = Int(sequence % 2) * Self.slotBytes
        try slot.withStorageBytes { (raw) throws(StorageError) in try POSIXFile.write(fd, raw, at: offset, path: path) }
        if fsyncEnabled { try POSIXFile.sync(fd, path: path) }
    }

    static func encode(_ state: StoredHardState, sequence: UInt64) -> [UInt8] {
        var payload: [UInt8] = []
        WALRecord.appendLittleEndian(state.term, to: &payload)
        WALRecord.appendLittleEndian(state.vote, to: &payload)
        WALRecord.appendLittleEndian(state.commit, to: &payload)
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

    static func decode(_ bytes: [UInt8], slot: Int) -> (sequence: UInt64, state: StoredHardState)? {
        bytes.withUnsafeBytes { decode($0, slot: slot) }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, slot: Int) -> (sequence: UInt64, state: StoredHardState)? {
        let base = slot * slotBytes
        guard bytes.count >= base + slotBytes, Array(bytes[base..<base + 4]) == magic,
              WALRecord.load(UInt32.self, bytes, base + 4) == version else { return nil }
        let sequence = WALRecord.load(UInt64.self, bytes, base + 8)
        let length = Int(WALRecord.load(UInt32.self, bytes, base + 16))
        let crc = WALRecord.load(UInt32.self, bytes, base + 20)
        guard length == payloadBytes else { return nil }
        let payload = Array(bytes[base + 24..<base + 24 + length])
        var checked: [UInt8] = []
        WALRecord.appendLittleEndian(sequence, to: &checked)
        WALRecord.appendLittleEndian(UInt32(length), to: &checked)
        checked += payload
        guard CRC32C.checksum(checked) == crc else { return nil }
        let p = base + 24
        return (sequence, StoredHardState(term: WALRecord.load(UInt64.self, bytes, p), vote: WALRecord.load(UInt64.self, bytes, p + 8),
                                          commit: WALRecord.load(UInt64.self, bytes, p + 16)))
    }
}
