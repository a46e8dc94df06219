import Testing
import Shared

@Suite struct CRC32CTests {
    /// Bit-at-a-time reference, to check the sliced tables against.
    static func reference(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) == 1 ? (crc >> 1) ^ CRC32C.polynomial : crc >> 1 }
        }
        return ~crc
    }

    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    /// RFC 3720 (iSCSI) appendix B.4.
    @Test(arguments: [
        ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
        ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
        ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
        ((0..<32).reversed().map { UInt8($0) }, UInt32(0x113F_DB5C)),
        ([0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
          0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
          0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
         UInt32(0xD996_3A56)),
    ])
    func rfc3720Vectors(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
    }

    @Test func matchesReferenceAtEveryLengthAndAlignment() {
        var rng = SplitMix(seed: 7)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                let sliced = data.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                #expect(sliced == Self.reference(slice))
            }
        }
    }

    @Test func seedChainsChecksums() {
        let a = Array("hello, ".utf8), b = Array("fuller world".utf8)
        #expect(CRC32C.checksum(b, seed: CRC32C.checksum(a)) == CRC32C.checksum(a + b))
    }
}

/// Tiny deterministic generator for test data.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
