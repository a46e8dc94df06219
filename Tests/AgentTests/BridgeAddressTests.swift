import Testing
@testable import Agent
import Model

/// `BridgeAddress.choose` on the shapes of `GET /networks/bridge` that engines really answer.
struct BridgeAddressTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var json: String
        var interfaces: [String: [String]]
        var expected: BridgeAddress?
        var testDescription: String { name }
    }

    static let docker0 = #""Options":{"com.docker.network.bridge.name":"docker0"}"#

    static let cases: [Case] = [
        Case(name: "a restarted dockerd: the gateway is in IPAM",
             json: #"{"Name":"bridge","IPAM":{"Config":[{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"}]},\#(docker0)}"#,
             interfaces: ["docker0": ["172.17.0.9"]], expected: BridgeAddress(address: "172.17.0.1", source: .ipamGateway)),
        Case(name: "an IPv6 gateway first, then the IPv4 one",
             json: #"{"IPAM":{"Config":[{"Subnet":"fd00::/64","Gateway":"fd00::1"},{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.254"}]}}"#,
             interfaces: [:], expected: BridgeAddress(address: "10.1.0.254", source: .ipamGateway)),
        Case(name: "a first-started dockerd: no gateway, the bridge's interface has the address",
             json: #"{"Name":"bridge","IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.17.0.0/16"}]},\#(docker0)}"#,
             interfaces: ["lo": ["127.0.0.1"], "docker0": ["172.17.0.1"]],
             expected: BridgeAddress(address: "172.17.0.1", source: .interface("docker0"))),
        Case(name: "the interface's address inside the subnet wins over another one",
             json: #"{"IPAM":{"Config":[{"Subnet":"10.88.0.0/16"}]},"Options":{"com.docker.network.bridge.name":"cni-podman0"}}"#,
             interfaces: ["cni-podman0": ["192.168.5.1", "10.88.0.1"]],
             expected: BridgeAddress(address: "10.88.0.1", source: .interface("cni-podman0"))),
        Case(name: "the interface does not exist yet: the subnet's first host",
             json: #"{"IPAM":{"Config":[{"Subnet":"10.88.0.0/16"}]},"Options":{"com.docker.network.bridge.name":"cni-podman0"}}"#,
             interfaces: ["eth0": ["192.168.1.5"]], expected: BridgeAddress(address: "10.88.0.1", source: .subnet("10.88.0.0/16"))),
        Case(name: "only a subnet, no bridge name",
             json: #"{"IPAM":{"Config":[{"Subnet":"172.18.5.7/20"}]}}"#,
             interfaces: [:], expected: BridgeAddress(address: "172.18.0.1", source: .subnet("172.18.5.7/20"))),
        Case(name: "no subnet: the interface's first address",
             json: #"{"IPAM":{"Config":[]},\#(docker0)}"#,
             interfaces: ["docker0": ["172.17.0.1"]], expected: BridgeAddress(address: "172.17.0.1", source: .interface("docker0"))),
        Case(name: "no IPv4 at all", json: #"{"IPAM":{"Config":[{"Subnet":"fd00::/64","Gateway":"fd00::1"}]},\#(docker0)}"#,
             interfaces: ["docker0": []], expected: nil),
        Case(name: "no IPAM at all, an interface without IPv4", json: #"{\#(docker0)}"#, interfaces: [:], expected: nil),
        Case(name: "a /32 has no first host", json: #"{"IPAM":{"Config":[{"Subnet":"10.0.0.7/32"}]}}"#, interfaces: [:], expected: nil),
        Case(name: "malformed values are ignored",
             json: #"{"IPAM":{"Config":[{"Subnet":"10.0.0/8","Gateway":"300.1.1.1"},{"Subnet":"10.9.0.0/24","Gateway":""}]}}"#,
             interfaces: [:], expected: BridgeAddress(address: "10.9.0.1", source: .subnet("10.9.0.0/24"))),
    ]

    @Test(arguments: cases)
    func choosesTheHostsAddress(_ c: Case) throws {
        let network = try JSONParser.parse(c.json)
        #expect(BridgeAddress.choose(network: network, interfaces: c.interfaces) == c.expected)
    }

    @Test func loopbackIsReadFromTheHostsInterfaces() {
        #expect(Interfaces.ipv4()["lo"]?.contains("127.0.0.1") == true)
    }
}
