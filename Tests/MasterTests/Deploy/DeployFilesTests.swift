import Foundation
import Testing
@testable import Master
@testable import Shared

/// deploy/ stays in step with the code: every `FULLER_*` variable the examples set is a flag of
/// the program that reads it, and the example token files parse.
@Suite struct DeployFilesTests {
    /// The repository's `deploy/` directory, found from this file.
    static let deploy: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)   // Deploy/DeployFilesTests.swift under Tests/MasterTests
        return (parts + ["deploy"]).joined(separator: "/")
    }()

    /// `FULLER_X` names set (or shown commented out) in `file`.
    static func variables(_ file: String) throws -> Set<String> {
        let text = try String(contentsOfFile: deploy + "/" + file, encoding: .utf8)
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            var body = line.drop { $0 == " " || $0 == "#" }
            guard body.hasPrefix("FULLER_"), let eq = body.firstIndex(of: "=") else { continue }
            body = body[..<eq]
            names.insert(String(body))
        }
        return names
    }

    @Test func masterExampleSetsOnlyServeFlags() throws {
        let known = Set(ServeCommand.serve.flags.map(\.environmentName))
        let used = try Self.variables("master.env.example")
        #expect(used.subtracting(known).sorted() == [])
        #expect(used.contains("FULLER_TOKEN_FILE") && used.contains("FULLER_PEER_TOKEN"))
    }

    @Test func exampleTokenFilesParse() throws {
        for file in ["tokens.example", "agent-tokens.example"] {
            let set = try TokenSet.parse(try String(contentsOfFile: Self.deploy + "/" + file, encoding: .utf8))
            #expect(!set.entries.isEmpty, "\(file)")
        }
        let master = try TokenSet.parse(try String(contentsOfFile: Self.deploy + "/tokens.example", encoding: .utf8))
        #expect(Set(master.entries.map(\.principal.role)) == Set(TokenRole.allCases), "the example shows every role")
    }
}
