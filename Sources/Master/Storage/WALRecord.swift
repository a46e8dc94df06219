import Shared

/// One entry of the log: what Raft (and, before Raft, the job store) appends and replays.
public struct LogEntry: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var payload: [UInt8]

    public init(index: UInt64, term: UInt64, payload: [UInt8]) {
        self.index = index
        self.term = term
        self.payload = payload
    }
}

/// The on-disk record framing, all integers little-endian:
///
///     length u32 (payload bytes) | crc32c u32 (over index, term, payload) | index u64 | term u64 | payload
///
/// The checksum does not cover `length`; a damaged length still fails the checksum because it
/// frames the wrong bytes.
enum WALRecord {
    static let headerBytes = 24

    /// Appends the encoded record to `buffer`.
    static func encode(index: UInt64, term: UInt64, payload: [UInt8], into buffer: inout [UInt8]) {
        var crc: UInt32 = 0
        withUnsafeBytes(of: (index.littleEndian, term.littleEndian)) { crc = CRC32C.checksum($0) }
        crc = CRC32C.checksum(payload, seed: crc)
        appendLittleEndian(UInt32(payload.count), to: &buffer)
        appendLittleEndian(crc, to: &buffer)
        appendLittleEndian(index, to: &buffer)
        appendLittleEndian(term, to: &buffer)
        buffer.append(contentsOf: payload)
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// What a decoder finds at one offset.
    enum Decoded {
        /// A whole record whose checksum holds; `bytes` is its full encoded size.
        case record(LogEntry, bytes: Int)
        /// Not enough bytes left for the header, or for the payload the header announces.
        case truncated
        /// The header's length is over the limit; nothing after it can be framed.
        case impossibleLength(Int)
        /// Framed, but the checksum fails.
        case checksumMismatch(bytes: Int)
    }

    /// Decodes the record at `offset` of `bytes` without trusting anything in it.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int, payloadBytesMax: Int) -> Decoded {
        let available = bytes.count - offset
        guard available >= headerBytes else { return .truncated }
        let length = Int(load(UInt32.self, bytes, offset))
        guard length <= payloadBytesMax else { return .impossibleLength(length) }
        guard available - headerBytes >= length else { return .truncated }
        let stored = load(UInt32.self, bytes, offset + 4)
        let covered = UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + headerBytes + length)])
        guard CRC32C.checksum(covered) == stored else { return .checksumMismatch(bytes: headerBytes + length) }
        let payloadStart = offset + headerBytes
        let entry = LogEntry(index: load(UInt64.self, bytes, offset + 8), term: load(UInt64.self, bytes, offset + 16),
                             payload: Array(bytes[payloadStart..<(payloadStart + length)]))
        return .record(entry, bytes: headerBytes + length)
    }

    static func load<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Whether any whole, checksummed record with an index in `indexes` starts anywhere after
    /// `offset`. Recovery uses this to tell a torn tail (nothing valid follows) from damage in the
    /// middle (acknowledged records follow). Cheap: the index range rejects almost every offset
    /// before a checksum is computed.
    static func validRecordExists(in bytes: UnsafeRawBufferPointer, after offset: Int,
                                  indexes: ClosedRange<UInt64>, payloadBytesMax: Int) -> Bool {
        var position = offset + 1
        while position + headerBytes <= bytes.count {
            let index = load(UInt64.self, bytes, position + 8)
            if indexes.contains(index),
               case .record = decode(bytes, at: position, payloadBytesMax: payloadBytesMax) {
                return true
            }
            position += 1
        }
        return false
    }
}
