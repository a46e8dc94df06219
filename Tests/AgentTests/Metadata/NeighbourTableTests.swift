import Testing
@testable import Agent

/// `/proc/net/arp` as the metadata endpoint reads it to check a caller's MAC.
@Suite struct NeighbourTableTests {
    static let table = """
        IP address       HW type     Flags       HW address            Mask     Device
        172.17.0.2       0x1         0x2         02:42:AC:11:00:02     *        docker0
        172.17.0.3       0x1         0x0         00:00:00:00:00:00     *        docker0
        172.17.0.4       0x1         0x2         02:42:ac:11:00:04     *        docker0
        172.17.0.4       0x1         0x6         02:42:ac:11:00:09     *        br-other
        10.0.0.1         0x1         0x2         52:54:00:12:34:56     *        eth0

        """

    @Test func completeEntriesOfTheIPOnly() {
        #expect(NeighbourTable.macAddresses(of: "172.17.0.2", in: Self.table) == ["02:42:ac:11:00:02"])
        #expect(NeighbourTable.macAddresses(of: "172.17.0.3", in: Self.table) == [], "incomplete: not resolved")
        #expect(NeighbourTable.macAddresses(of: "172.17.0.4", in: Self.table) == ["02:42:ac:11:00:04", "02:42:ac:11:00:09"])
        #expect(NeighbourTable.macAddresses(of: "172.17.0.22", in: Self.table) == [], "a prefix of another address")
        #expect(NeighbourTable.macAddresses(of: "IP", in: Self.table) == [], "the header")
        #expect(NeighbourTable.macAddresses(of: "1.2.3.4", in: "") == [])
    }

    @Test func onlyTheContainersOwnMACIsGenuine() {
        #expect(NeighbourTable.isGenuine(expected: "02:42:ac:11:00:02", seen: ["02:42:ac:11:00:02"]))
        #expect(NeighbourTable.isGenuine(expected: "02:42:AC:11:00:02", seen: ["02:42:ac:11:00:02"]))
        #expect(!NeighbourTable.isGenuine(expected: "02:42:ac:11:00:02", seen: ["02:42:ac:11:00:07"]), "spoofed")
        #expect(!NeighbourTable.isGenuine(expected: "02:42:ac:11:00:02", seen: ["02:42:ac:11:00:02", "02:42:ac:11:00:07"]))
        #expect(!NeighbourTable.isGenuine(expected: "02:42:ac:11:00:02", seen: []), "no entry")
    }

    @Test func theLiveTableReadsWithoutError() {
        // Loopback has no neighbour entries; what matters is that reading the real file works.
        #expect(NeighbourTable.lookUp("127.0.0.1") == [])
    }
}
