import Foundation

/// The host's IPv4 neighbour (ARP) table, as `/proc/net/arp` shows it: which link-layer address
/// the host believes holds each IP.
///
/// The metadata endpoint knows a caller by its source IP. A container that can forge ARP (with
/// `NET_RAW`, which task containers do not get by default) could take a neighbour's IP; the host
/// then sends its replies to the forger's MAC, and its entry for that IP shows the forger's MAC.
/// So a request is answered only when every complete entry for its source IP carries the MAC
/// Docker gave the caller's container.
enum NeighbourTable {
    static let path = "/proc/net/arp"
    /// `ATF_COM`: the entry is resolved (an incomplete one shows all zeroes).
    static let completeFlag: UInt32 = 0x2
    /// Bytes of the table read at most (about 20,000 entries, far beyond the kernel's default
    /// `gc_thresh3` of 1,024).
    static let bytesMax = 2 * 1024 * 1024

    /// The MAC addresses (lower case) of the complete entries for `ip` in `text`, the contents of
    /// `/proc/net/arp`: a header line, then `IP  HWtype  Flags  HWaddress  Mask  Device` rows.
    static func macAddresses(of ip: String, in text: String) -> [String] {
        var found: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[0] == ip else { continue }
            let flagsText = fields[2].hasPrefix("0x") ? fields[2].dropFirst(2) : fields[2]
            guard let flags = UInt32(flagsText, radix: 16), flags & completeFlag != 0 else { continue }
            found.append(fields[3].lowercased())
        }
        return found
    }

    /// Whether the host's entries for a caller (`seen`) show only the container's own MAC. No
    /// entry at all is a refusal too: the host answered the caller, so it resolved its address.
    static func isGenuine(expected: String, seen: [String]) -> Bool {
        !seen.isEmpty && seen.allSatisfy { $0 == expected.lowercased() }
    }

    /// Reads `/proc/net/arp` for `ip`; empty when it cannot be read.
    @Sendable static func lookUp(_ ip: String) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: bytesMax)) ?? Data()
        return macAddresses(of: ip, in: String(decoding: data, as: UTF8.self))
    }
}
