import Foundation
import Glibc
import Testing
import TestSupport
@testable import Storage

@Suite struct HardStateFileTests {
    @Test func startsEmptyThenRemembersTheLastSave() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        do {
            let (file, state) = try HardStateFile.open(path: path)
            #expect(state == StoredHardState())
            try file.save(StoredHardState(term: 1, vote: 2, commit: 0))
            try file.save(StoredHardState(term: 3, vote: 0, commit: 17))
        }
        let (_, state) = try HardStateFile.open(path: path)
        #expect(state == StoredHardState(term: 3, vote: 0, commit: 17))
    }

    /// A save torn at any byte leaves the previous state, never a mixture.
    @Test func aTornSaveLeavesThePreviousState() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        do {
            let (file, _) = try HardStateFile.open(path: path)
            try file.save(StoredHardState(term: 4, vote: 1, commit: 9))
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        // The next save (sequence 2) goes to slot 0; tear it after every prefix length.
        let next = HardStateFile.encode(StoredHardState(term: 5, vote: 3, commit: 10), sequence: 2)
        let meaningful = 24 + HardStateFile.payloadBytes
        for cut in 0..<meaningful {
            var bytes = [UInt8](good)
            for i in 0..<cut { bytes[i] = next[i] }
            bytes[cut] = next[cut] ^ 0xFF   // the byte at the tear is not what the save meant to write
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (_, state) = try HardStateFile.open(path: path)
            #expect(state == StoredHardState(term: 4, vote: 1, commit: 9), "cut at \(cut)")
        }
        // Once every meaningful byte is down, the save counts.
        var bytes = [UInt8](good)
        for i in 0..<meaningful { bytes[i] = next[i] }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try HardStateFile.open(path: path).1 == StoredHardState(term: 5, vote: 3, commit: 10))
    }

    @Test func aTornFirstSaveStartsFresh() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        let first = HardStateFile.encode(StoredHardState(term: 1, vote: 2, commit: 0), sequence: 1)
        var bytes = [UInt8](repeating: 0, count: HardStateFile.slotBytes) + first
        bytes[HardStateFile.slotBytes + 30] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try HardStateFile.open(path: path).1 == StoredHardState())
    }

    @Test func bothSlotsDamagedIsAnError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        do {
            let (file, _) = try HardStateFile.open(path: path)
            try file.save(StoredHardState(term: 1, vote: 0, commit: 0))
            try file.save(StoredHardState(term: 2, vote: 0, commit: 0))
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[30] ^= 1
        bytes[HardStateFile.slotBytes + 30] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try HardStateFile.open(path: path) }
    }
}
