import Testing
@testable import JobStore
@testable import Master
@testable import Shared

/// A peer token named after a member speaks for that member only; a shared one for any member.
@Suite struct PeerBindingTests {
    static let directory = PeerDirectory(selfName: "m1", configured: ["m1": "127.0.0.1:1", "m2": "127.0.0.1:2", "m3": "127.0.0.1:3"],
                                         store: StoreHandle(JobStore()), logger: Logger(component: "test", minimumLevel: .error))

    static func request(from sender: String) -> HTTPRequest {
        HTTPRequest(method: .POST, target: PeerTransport.path, headers: [PeerTransport.fromHeader: sender])
    }

    @Test func aMemberTokenSpeaksForItsMemberOnly() {
        let m2 = Principal(role: .peer, name: "m2")
        #expect(RaftCluster.bindsSender(m2, Self.request(from: "m2"), directory: Self.directory) == nil)
        let refused = RaftCluster.bindsSender(m2, Self.request(from: "m3"), directory: Self.directory)
        #expect(refused?.status == 403 && refused?.field == PeerTransport.fromHeader)
    }

    @Test func aSharedTokenSpeaksForAnyMember() {
        let shared = Principal(role: .peer, name: "masters")
        for sender in ["m2", "m3"] { #expect(RaftCluster.bindsSender(shared, Self.request(from: sender), directory: Self.directory) == nil) }
    }

    @Test func onlyMembersAreAdmitted() {
        #expect(RaftCluster.isMember("m2", directory: Self.directory, replicator: nil))
        #expect(!RaftCluster.isMember("intruder", directory: Self.directory, replicator: nil))
    }
}
