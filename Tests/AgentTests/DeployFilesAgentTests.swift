import Foundation
import Testing
@testable import Agent
@testable import Shared

/// The agent's deploy/ examples (environment file, cloud-init user data) set only real flags.
@Suite struct DeployFilesAgentTests {
    static let deploy: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // DeployFilesAgentTests.swift under Tests/AgentTests
        return (parts + ["deploy"]).joined(separator: "/")
    }()

    static func variables(_ file: String) throws -> Set<String> {
        let text = try String(contentsOfFile: deploy + "/" + file, encoding: .utf8)
        var names = Set<String>()
        // Every `FULLER_NAME=` anywhere in a line (the cloud-init file sets one from a command).
        for piece in text.components(separatedBy: "FULLER_").dropFirst() {
            let name = piece.prefix { $0.isUppercase || $0 == "_" }
            if !name.isEmpty, piece.dropFirst(name.count).first == "=" { names.insert("FULLER_" + name) }
        }
        return names
    }

    @Test(arguments: ["agent.env.example", "cloud-init/agent.yaml"])
    func agentFilesSetOnlyAgentFlags(file: String) throws {
        let known = Set(AgentCommand.flags.map(\.environmentName))
        let used = try Self.variables(file)
        #expect(used.subtracting(known).sorted() == [], "\(file)")
        #expect(used.isSuperset(of: ["FULLER_ID", "FULLER_MASTERS", "FULLER_TOKEN", "FULLER_TOKEN_FILE"]), "\(file): \(used.sorted())")
    }
}
