import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent

/// The `169.254.169.254` DNAT rule: scoped to the agent's bridge, so that two agents on one
/// host (or any other interface) never share one rule. Real iptables runs in a network namespace
/// the test creates and deletes.
@Suite struct MetadataDNATTests {
    @Test func theRuleMatchesOnlyPacketsArrivingOnTheBridge() {
        let rule = MetadataDNAT(destination: "172.17.0.1:4711", interface: "docker0", iptables: "/usr/sbin/iptables")
        #expect(rule.arguments("-I", position: "1") == [
            "-w", "5", "-t", "nat", "-I", "PREROUTING", "1", "-i", "docker0", "-d", "169.254.169.254/32", "-p", "tcp",
            "--dport", "80", "-j", "DNAT", "--to-destination", "172.17.0.1:4711",
        ])
    }

    @Test func theInterfaceIsTheOneHoldingTheAddress() {
        #expect(MetadataDNAT.interface(holding: "127.0.0.1") == "lo")
        #expect(MetadataDNAT.interface(holding: "192.0.2.254") == nil, "TEST-NET-1 is on no interface")
        #expect(MetadataDNAT.interface(holding: "not-an-address") == nil)
    }

    /// Two agents' rules, one per bridge, live side by side; each install is idempotent and each
    /// removal takes its own rule only.
    @Test(.timeLimit(.minutes(1)))
    func twoAgentsRulesCoexistInARealTable() throws {
        guard getuid() == 0, let iptables = MetadataDNAT.findIPTables(), FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else {
            print("⚠️  SKIPPED: the iptables test needs root, iptables and ip")
            return
        }
        let namespace = "fuller-dnat-\(UInt32.random(in: 0...UInt32.max))"
        let directory = try TemporaryDirectory()
        defer {
            _ = MetadataDNAT.run("/usr/sbin/ip", ["netns", "delete", namespace])
            directory.remove()
        }
        guard case .success(0) = MetadataDNAT.run("/usr/sbin/ip", ["netns", "add", namespace]) else {
            Issue.record("cannot create network namespace \(namespace)")
            return
        }
        // iptables as the agent runs it, but inside the namespace.
        let wrapper = directory.path + "/iptables"
        try Self.writeWrapper(wrapper, namespace: namespace, iptables: iptables)
        let first = MetadataDNAT(destination: "172.17.0.1:4711", interface: "docker0", iptables: wrapper)
        let second = MetadataDNAT(destination: "172.18.0.1:4711", interface: "br-second", iptables: wrapper)
        try first.install()
        try first.install()
        try second.install()
        let rules = try Self.prerouting(wrapper)
        #expect(rules.count == 2, "\(rules)")
        #expect(rules.contains { $0.contains("-i docker0") && $0.contains("172.17.0.1:4711") }, "\(rules)")
        #expect(rules.contains { $0.contains("-i br-second") && $0.contains("172.18.0.1:4711") }, "\(rules)")
        first.remove()
        #expect(!first.isInstalled() && second.isInstalled())
        second.remove()
        #expect(try Self.prerouting(wrapper).isEmpty)
    }

    /// The previous release's rule (the same destination, on every interface), left behind by an
    /// agent that was killed before it could remove it, is taken out when the scoped one goes in:
    /// otherwise it kept sending other bridges' containers to this agent.
    @Test(.timeLimit(.minutes(1)))
    func anUnscopedRuleOfThePreviousReleaseIsReplaced() throws {
        guard getuid() == 0, let iptables = MetadataDNAT.findIPTables(), FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else {
            print("⚠️  SKIPPED: the iptables test needs root, iptables and ip")
            return
        }
        let namespace = "fuller-dnat-\(UInt32.random(in: 0...UInt32.max))"
        let directory = try TemporaryDirectory()
        defer {
            _ = MetadataDNAT.run("/usr/sbin/ip", ["netns", "delete", namespace])
            directory.remove()
        }
        guard case .success(0) = MetadataDNAT.run("/usr/sbin/ip", ["netns", "add", namespace]) else {
            Issue.record("cannot create network namespace \(namespace)")
            return
        }
        let wrapper = directory.path + "/iptables"
        try Self.writeWrapper(wrapper, namespace: namespace, iptables: iptables)
        let rule = MetadataDNAT(destination: "172.17.0.1:4711", interface: "docker0", iptables: wrapper)
        let previous = ["-w", "5", "-t", "nat", "-I", "PREROUTING", "1", "-d", "169.254.169.254/32", "-p", "tcp", "--dport", "80",
                        "-j", "DNAT", "--to-destination", "172.17.0.1:4711"]
        let other = ["-w", "5", "-t", "nat", "-I", "PREROUTING", "1", "-d", "169.254.169.254/32", "-p", "tcp", "--dport", "80",
                     "-j", "DNAT", "--to-destination", "172.18.0.1:4711"]
        let added = (MetadataDNAT.run(wrapper, previous), MetadataDNAT.run(wrapper, other))
        guard case .success(0) = added.0, case .success(0) = added.1 else {
            Issue.record("cannot add the previous release's rules: \(added)")
            return
        }
        try rule.install()
        let rules = try Self.prerouting(wrapper)
        #expect(rules.count == 2, "\(rules)")
        #expect(rules.contains { $0.contains("-i docker0") && $0.contains("172.17.0.1:4711") }, "\(rules)")
        #expect(rules.contains { !$0.contains("-i ") && $0.contains("172.18.0.1:4711") }, "another agent's rule is its own: \(rules)")
        rule.remove()
    }

    /// `-A PREROUTING …` lines of the nat table.
    static func prerouting(_ iptables: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: iptables)
        process.arguments = ["-w", "5", "-t", "nat", "-S", "PREROUTING"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") }
    }

    /// An `iptables` that runs inside `namespace`. Written through a close-on-exec descriptor:
    /// Foundation's `write(toFile:)` leaves its descriptor inheritable, so a child that another
    /// test spawns meanwhile keeps it open for writing and running the script fails with
    /// "Text file busy".
    static func writeWrapper(_ path: String, namespace: String, iptables: String) throws {
        let text = Array("#!/bin/sh\nexec /usr/sbin/ip netns exec \(namespace) \(iptables) \"$@\"\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw TestFailure("cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        guard text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count else {
            throw TestFailure("cannot write \(path): errno \(errno)")
        }
    }
}
