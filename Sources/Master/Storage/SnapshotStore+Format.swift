import Shared

extension SnapshotStore {
    static func header(index: UInt64, term: UInt64, payload: [UInt8]) -> [UInt8] {
        var header = magic
        header.reserveCapacity(headerBytes)
        WALRecord.appendLittleEndian(version, to: &header)
        WALRecord.appendLittleEndian(index, to: &header)
        WALRecord.appendLittleEndian(term, to: &header)
        WALRecord.appendLittleEndian(UInt64(payload.count), to: &header)
        let crc = CRC32C.checksum(payload, seed: CRC32C.checksum(header))
        WALRecord.appendLittleEndian(crc, to: &header)
        return header
    }

    /// Checks everything in a snapshot file before trusting any of it.
    static func decode(_ bytes: [UInt8], name: String, index expectedIndex: UInt64) throws(StorageError) -> Snapshot {
        func corrupt(_ offset: Int, _ reason: String) -> StorageError {
            .corrupt(file: name, offset: offset, reason: reason)
        }
        guard bytes.count >= headerBytes else { throw corrupt(0, "file of \(bytes.count) bytes is shorter than the header") }
        guard Array(bytes[0..<4]) == magic else { throw corrupt(0, "not a snapshot file (bad magic)") }
        return try bytes.withStorageBytes { (raw) throws(StorageError) -> Snapshot in
            let version = WALRecord.load(UInt32.self, raw, 4)
            guard version == Self.version else { throw corrupt(4, "unknown snapshot version \(version)") }
            let index = WALRecord.load(UInt64.self, raw, 8)
            let term = WALRecord.load(UInt64.self, raw, 16)
            let length = WALRecord.load(UInt64.self, raw, 24)
            guard length == UInt64(bytes.count - headerBytes) else {
                throw corrupt(24, "payload length \(length) but \(bytes.count - headerBytes) bytes follow the header")
            }
            let stored = WALRecord.load(UInt32.self, raw, 32)
            let payload = UnsafeRawBufferPointer(rebasing: raw[headerBytes...])
            let crc = CRC32C.checksum(payload, seed: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<32])))
            guard crc == stored else { throw corrupt(32, "checksum mismatch") }
            guard index == expectedIndex else { throw corrupt(8, "holds index \(index), but the file name says \(expectedIndex)") }
            return Snapshot(index: index, term: term, payload: Array(payload))
        }
    }
}

extension StorageError {
    var isCorruption: Bool {
        if case .corrupt = self { return true }
        return false
    }
}
