import Dispatch
import Foundation
import Glibc

/// The iptables rule that sends containers' `169.254.169.254:80` (EC2's metadata address) to
/// the endpoint: `-t nat PREROUTING -i BRIDGE -d 169.254.169.254/32 -p tcp --dport 80 -j DNAT
/// --to-destination HOST:PORT`.
///
/// Scoped to the interface that holds the endpoint's address (the agent's bridge), so that on a
/// host with several agents, or other bridges, each agent's containers reach their own agent
/// and no other traffic is redirected. Installed idempotently (checked with `-C` first), at the
/// top of the chain so that this agent's rule wins over any stale one of a different
/// destination, and removed at stop. It needs root and the `iptables` command; without them the
/// agent serves on its own address only.
struct MetadataDNAT: Sendable, Equatable {
    static let address = "169.254.169.254"
    /// `HOST:PORT` of the endpoint.
    let destination: String
    /// The interface whose incoming packets the rule redirects (`docker0`).
    let interface: String
    let iptables: String

    /// The rule's match and target, after the chain name.
    var rule: [String] {
        ["-i", interface, "-d", "\(Self.address)/32", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", destination]
    }

    /// The name of the interface that holds IPv4 `address` (the bridge whose gateway it is), or nil.
    static func interface(holding address: String) -> String? {
        var target = in_addr()
        guard inet_pton(AF_INET, address, &target) == 1 else { return nil }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let socketAddress = entry.pointee.ifa_addr, socketAddress.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let ipv4 = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            if ipv4.s_addr == target.s_addr { return String(cString: entry.pointee.ifa_name) }
        }
        return nil
    }

    /// The previous release's rule for the same destination: on every interface. An agent of
    /// that release killed before it removed its rule left it behind, and it still sends other
    /// bridges' containers here; `install` takes it out.
    var unscopedRule: [String] { Array(rule.dropFirst(2)) }

    /// `-w 5` waits up to 5 s for the xtables lock (Docker edits the tables too).
    func arguments(_ operation: String, position: String? = nil, rule: [String]? = nil) -> [String] {
        ["-w", "5", "-t", "nat", operation, "PREROUTING"] + (position.map { [$0] } ?? []) + (rule ?? self.rule)
    }

    /// Whether the rule is in place.
    func isInstalled() -> Bool {
        if case .success(0) = Self.run(iptables, arguments("-C")) { return true }
        return false
    }

    /// Adds the rule unless it is there already, and removes the previous release's unscoped one.
    func install() throws(MetadataStartError) {
        for _ in 0..<8 {
            guard case .success(0) = Self.run(iptables, arguments("-C", rule: unscopedRule)) else { break }
            _ = Self.run(iptables, arguments("-D", rule: unscopedRule))
        }
        if isInstalled() { return }
        switch Self.run(iptables, arguments("-I", position: "1")) {
        case .success(0): return
        case .success(let status): throw .dnat("iptables -I exited with status \(status)")
        case .failure(let error): throw .dnat("cannot run \(iptables): \(error)")
        }
    }

    /// Deletes the rule (every copy, at most a few).
    func remove() {
        for _ in 0..<8 where isInstalled() {
            _ = Self.run(iptables, arguments("-D"))
        }
    }

    /// `iptables` from the usual places, or nil.
    static func findIPTables() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return directories.map { "\($0)/iptables" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `path arguments` with no input and output, killed after 15 s; its exit status.
    static func run(_ path: String, _ arguments: [String]) -> Result<Int32, any Error> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(error) }
        let pid = process.processIdentifier
        let timer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(15), execute: timer)
        process.waitUntilExit()
        timer.cancel()
        return .success(process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus)
    }
}

/// Why the metadata endpoint could not start as asked.
enum MetadataStartError: Error, Sendable, Equatable, CustomStringConvertible {
    case address(String)
    case gateway(String)
    case listen(String)
    case dnat(String)

    var description: String {
        switch self {
        case .address(let why), .gateway(let why), .listen(let why), .dnat(let why): why
        }
    }
}
