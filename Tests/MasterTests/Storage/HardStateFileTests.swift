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
            #expect(state == HardState())
            try file.save(HardState(term: 1, votedFor: "m2", commit: 0))
            try file.save(HardState(term: 3, votedFor: nil, commit: 17))
        }
        let (_, state) = try HardStateFile.open(path: path)
        #expect(state == HardState(term: 3, votedFor: nil, commit: 17))
    }

    /// A save torn at any byte leaves the previous state, never a mixture.
    @Test func aTornSaveLeavesThePreviousState() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        do {
            let (file, _) = try HardStateFile.open(path: path)
            try file.save(HardState(term: 4, votedFor: "m1", commit: 9))
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        // The next save (sequence 2) goes to slot 0; tear it after every prefix length.
        let next = HardStateFile.encode(HardState(term: 5, votedFor: "m3", commit: 10), vote: Array("m3".utf8), sequence: 2)
        let meaningful = 24 + 18 + 2   // header, fixed payload, the vote "m3"
        for cut in 0..<meaningful {
            var bytes = [UInt8](good)
            for i in 0..<cut { bytes[i] = next[i] }
            bytes[cut] = next[cut] ^ 0xFF   // the byte at the tear is not what the save meant to write
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (_, state) = try HardStateFile.open(path: path)
            #expect(state == HardState(term: 4, votedFor: "m1", commit: 9), "cut at \(cut)")
        }
        // Once every meaningful byte is down, the save counts.
        var bytes = [UInt8](good)
        for i in 0..<meaningful { bytes[i] = next[i] }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try HardStateFile.open(path: path).1 == HardState(term: 5, votedFor: "m3", commit: 10))
    }

    @Test func bothSlotsDamagedIsAnError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/raft-state"
        do {
            let (file, _) = try HardStateFile.open(path: path)
            try file.save(HardState(term: 1, votedFor: nil, commit: 0))
            try file.save(HardState(term: 2, votedFor: nil, commit: 0))
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[30] ^= 1
        bytes[HardStateFile.slotBytes + 30] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try HardStateFile.open(path: path) }
    }
}
