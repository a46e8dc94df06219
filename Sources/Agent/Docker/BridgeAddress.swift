import Glibc
import Model

/// Where on the host a Docker network's containers reach the host: the address the metadata
/// endpoint listens on when `--metadata bridge:PORT`.
///
/// A pure choice from the engine's answer to `GET /networks/NAME` and the host's interfaces,
/// in this order:
/// 1. `IPAM.Config[].Gateway`, the first IPv4 one. A `dockerd` restarted at least once reports it;
///    one started for the first time does not.
/// 2. The IPv4 address of the network's interface (`Options["com.docker.network.bridge.name"]`,
///    `docker0` for the default bridge), preferring one inside the network's subnet.
/// 3. The first host address of the first IPv4 `IPAM.Config[].Subnet` (Docker's own default
///    for the gateway). The interface may not exist yet (podman creates its bridge with the
///    first container): binding fails until it does, and the caller retries.
struct BridgeAddress: Sendable, Equatable {
    enum Source: Sendable, Equatable {
        case ipamGateway
        case interface(String)
        case subnet(String)
    }

    let address: String
    let source: Source

    static let bridgeNameOption = "com.docker.network.bridge.name"

    /// The address, or nil when the network says nothing IPv4 about itself.
    /// `interfaces`: each interface's IPv4 addresses (what `Interfaces.ipv4()` reads).
    static func choose(network: JSONValue, interfaces: [String: [String]]) -> BridgeAddress? {
        var configs: [JSONValue] = []
        if case .array(let list)? = network["IPAM"]?["Config"] { configs = list }
        if let gateway = configs.compactMap({ $0["Gateway"]?.stringValue }).first(where: IPv4.isAddress) {
            return BridgeAddress(address: gateway, source: .ipamGateway)
        }
        let subnets = configs.compactMap { $0["Subnet"]?.stringValue }.compactMap(IPv4.Subnet.init)
        if let name = network["Options"]?[bridgeNameOption]?.stringValue, let addresses = interfaces[name] {
            let inSubnet = addresses.first { address in subnets.contains { $0.contains(address) } }
            if let address = inSubnet ?? (subnets.isEmpty ? addresses.first : nil) {
                return BridgeAddress(address: address, source: .interface(name))
            }
        }
        if let subnet = subnets.first, let first = subnet.firstHost {
            return BridgeAddress(address: first, source: .subnet(subnet.text))
        }
        return nil
    }
}

/// IPv4 text forms, parsed without the C library so the choice above stays pure.
enum IPv4 {
    /// `a.b.c.d` as a number, or nil.
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func isAddress(_ text: String) -> Bool { parse(text) != nil }

    static func format(_ value: UInt32) -> String {
        [24, 16, 8, 0].map { String(value >> UInt32($0) & 0xff) }.joined(separator: ".")
    }

    /// `a.b.c.d/n`.
    struct Subnet: Sendable, Equatable {
        let text: String
        let network: UInt32
        let prefixLength: Int

        init?(_ text: String) {
            let halves = text.split(separator: "/", omittingEmptySubsequences: false)
            guard halves.count == 2, let base = IPv4.parse(String(halves[0])), let length = Int(halves[1]),
                  (0...32).contains(length) else { return nil }
            self.text = text
            prefixLength = length
            network = base & Self.mask(length)
        }

        static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

        func contains(_ address: String) -> Bool {
            guard let value = IPv4.parse(address) else { return false }
            return value & Self.mask(prefixLength) == network
        }

        /// The network address plus one; nil for /31 and /32, which have no such host.
        var firstHost: String? { prefixLength <= 30 ? IPv4.format(network + 1) : nil }
    }
}

/// The host's network interfaces, read with `getifaddrs`.
enum Interfaces {
    /// Each interface's IPv4 addresses, in the kernel's order.
    static func ipv4() -> [String: [String]] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [:] }
        defer { freeifaddrs(first) }
        var result: [String: [String]] = [:]
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  let name = entry.pointee.ifa_name else { continue }
            let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            result[String(cString: name), default: []].append(IPv4.format(ipv4))
        }
        return result
    }
}
