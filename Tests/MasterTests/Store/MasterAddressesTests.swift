import Testing
@testable import JobStore
import Model

/// The store's record of masters added at run time: applied like any command, kept in
/// snapshots, bounded.
@Suite struct MasterAddressesTests {
    @Test func recordedAddressesSurviveTheCodecAndASnapshot() throws {
        var store = JobStore()
        let set = Command.setMasterAddress(name: "m4", peerAddress: "10.0.0.4:4701", atMs: 5)
        #expect(try Command(encoded: set.encoded()) == set)
        #expect(store.apply(set, index: 1) == .master(name: "m4", peerAddress: "10.0.0.4:4701"))
        _ = store.apply(.setMasterAddress(name: "m5", peerAddress: "10.0.0.5:4701", atMs: 6), index: 2)
        let forget = Command.forgetMaster(name: "m5", atMs: 7)
        #expect(try Command(encoded: forget.encoded()) == forget)
        #expect(store.apply(forget, index: 3) == .master(name: "m5", peerAddress: nil))
        let restored = try JobStore.restore(store.snapshot())
        #expect(restored.masterAddresses == ["m4": "10.0.0.4:4701"])
        #expect(try JobStore.restore(JobStore().snapshot()).masterAddresses.isEmpty)
    }

    @Test func theRecordIsBounded() {
        var store = JobStore()
        for i in 0..<JobStore.masterAddressesMax {
            _ = store.apply(.setMasterAddress(name: "m\(i)", peerAddress: "h:\(i + 1)", atMs: 0), index: UInt64(i + 1))
        }
        let over = store.apply(.setMasterAddress(name: "extra", peerAddress: "h:1", atMs: 0), index: 1_000)
        guard case .rejected(.limitExceeded) = over else { Issue.record("expected a refusal, got \(over)"); return }
        // Moving a recorded master is not a new entry.
        #expect(store.apply(.setMasterAddress(name: "m0", peerAddress: "h:9", atMs: 0), index: 1_001) == .master(name: "m0", peerAddress: "h:9"))
    }
}
