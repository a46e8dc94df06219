/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum on every WAL record and
/// snapshot file.
///
/// A portable slicing-by-8 table implementation: eight bytes per step, about 1–2 GB/s, which is far
/// above what an fsynced log writes. `seed` is a previous checksum, so
/// `checksum(b, seed: checksum(a)) == checksum(a + b)`; pass 0 (the default) to start.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// Checksum of `bytes`, continuing from `seed` (the checksum of whatever came before).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        tables.withUnsafeBufferPointer { t in
            var position = 0
            let count = bytes.count
            while count - position >= 8 {
                let word = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                position += 8
            }
            while position < count {
                crc = t[Int((crc ^ UInt32(bytes[position])) & 0xFF)] ^ (crc >> 8)
                position += 1
            }
        }
        return ~crc
    }

    /// Checksum of `bytes`, continuing from `seed`.
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Eight 256-entry tables laid end to end: table k advances a byte that is k positions further
    /// from the end of the 8-byte word.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = (crc & 1) == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            t[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()
}
