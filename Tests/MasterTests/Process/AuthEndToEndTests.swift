import Foundation
import Glibc
import Testing
import TestSupport
import Model
import Shared

/// Real `fuller-master serve` processes with `--token-file`: three masters that authenticate to
/// each other, clients with and without tokens, the CLI, a SIGHUP reload (good and bad file),
/// and logs that never show a token.
@Suite(.serialized) struct AuthEndToEndTests {
    static let peerToken = "peer-token-5f2c9a0e7b1d4c3a"
    static let tokens = """
    admin  ops   admin-token-8c1e2f3a4b5d6e7f
    submit ci    submit-token-1a2b3c4d5e6f7a8b
    read   dash  read-token-9f8e7d6c5b4a3f2e
    peer   m     \(peerToken)
    """
    static let job = #"{"name":"a","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":0.1,"memoryMB":16}},"service":{"capacity":{"min":0,"desired":0,"max":1}}}"#

    /// Polls `probe` until it is true, for at most `timeout`.
    static func eventually(_ what: String, timeout: Duration = .seconds(20), _ probe: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await probe()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    /// Runs the CLI with `environment`; returns its exit status and standard error.
    static func cli(_ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MasterProcess.binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FULLER_TOKEN"] = nil
        p.environment = env.merging(environment) { _, new in new }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test(.timeLimit(.minutes(2)))
    func aGroupWithTokens() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tokenPath = dir.path + "/tokens"
        try Self.tokens.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        chmod(tokenPath, 0o600)
        let group = try ClusterProcesses(directory: dir.path)
        defer { group.stopAll() }
        try group.start(extraArguments: ["--fsync=false", "--token-file", tokenPath, "--peer-token", Self.peerToken])
        let urls = group.members.map(\.url)
        let reader = GroupClient(urls: urls, token: "read-token-9f8e7d6c5b4a3f2e")
        let submitter = GroupClient(urls: urls, token: "submit-token-1a2b3c4d5e6f7a8b")
        let anonymous = GroupClient(urls: urls, token: nil)
        defer { [reader, submitter, anonymous].forEach { $0.shutdown() } }

        // A leader is elected and a write commits: the masters accepted each other's peer token.
        try await Self.eventually("a leader") { try await reader.json(.GET, "/v1/cluster")["leader"] != .null }
        var created = try await submitter.send(.POST, "/v1/jobs", body: Self.job)
        for _ in 0..<50 where created.status == 503 {
            try await Task.sleep(for: .milliseconds(100))
            created = try await submitter.send(.POST, "/v1/jobs", body: Self.job)
        }
        #expect(created.status == 201, "\(String(decoding: created.bodyBytes, as: UTF8.self))")
        #expect(try await anonymous.send(.GET, "/v1/jobs").status == 401)
        #expect(try await anonymous.send(.GET, "/healthz").status == 200)
        #expect(try await reader.send(.POST, "/v1/jobs", body: Self.job).status == 403)

        // The peer port takes only peer tokens.
        let peer = try HTTPClient(url: "http://127.0.0.1:\(group.members[0].peerPort)")
        defer { peer.shutdown() }
        #expect(try await peer.send(.POST, "/raft/v1/messages", headers: ["Fuller-From": "m9"]).status == 401)
        #expect(try await peer.send(.POST, "/raft/v1/messages",
                                    headers: ["Fuller-From": "m9", "Authorization": "Bearer admin-token-8c1e2f3a4b5d6e7f"]).status == 403)
        try await Self.eventually("the refusal logged") { group.members[0].recentLog.contains("refused a peer request") }

        // The CLI: FULLER_TOKEN, or a hint when it is missing.
        let (ok, _) = try Self.cli(["job", "list", "--server", urls[0]], environment: ["FULLER_TOKEN": "read-token-9f8e7d6c5b4a3f2e"])
        #expect(ok == 0)
        let (refused, message) = try Self.cli(["job", "list", "--server", urls[0]], environment: [:])
        #expect(refused == 1 && message.contains("unauthenticated") && message.contains("FULLER_TOKEN"), "\(message)")

        do { try await reloads(group, tokenPath: tokenPath, urls: urls) } catch {
            print(group.logs())
            throw error
        }

        for member in group.members {
            let log = member.recentLog
            for secret in ["token-8c1e2f3a4b5d6e7f", "token-1a2b3c4d5e6f7a8b", "token-9f8e7d6c5b4a3f2e", Self.peerToken, "new-token-77"] {
                #expect(!log.contains(secret), "\(member.name) logged a token")
            }
            #expect(!log.lowercased().contains("authorization"), "\(member.name) logged an Authorization header")
        }
    }

    /// SIGHUP with a new file takes effect on every master; SIGHUP with a broken one keeps the
    /// tokens in force and logs why.
    private func reloads(_ group: ClusterProcesses, tokenPath: String, urls: [String]) async throws {
        let newcomer = GroupClient(urls: urls, token: "read-new-token-77aa88bb99")
        defer { newcomer.shutdown() }
        #expect(try await newcomer.send(.GET, "/v1/jobs").status == 401)
        try (Self.tokens + "\nread newcomer read-new-token-77aa88bb99\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
        for member in group.members { member.signal(SIGHUP) }
        for (index, member) in group.members.enumerated() {
            let one = GroupClient(urls: [urls[index]], token: "read-new-token-77aa88bb99")
            defer { one.shutdown() }
            try await Self.eventually("\(member.name) reloaded") { try await one.send(.GET, "/v1/cluster").status == 200 }
        }
        try "read broken short\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        for member in group.members { member.signal(SIGHUP) }
        try await Self.eventually("the failed reload logged") {
            group.members.allSatisfy { $0.recentLog.contains("token file not reloaded") }
        }
        #expect(try await newcomer.send(.GET, "/v1/jobs?stale=true").status == 200, "the previous tokens stay in force")
        #expect(group.members.allSatisfy { $0.isRunning }, "a SIGHUP must not end a master")
    }

    @Test(.timeLimit(.minutes(1)))
    func serveWithoutATokenFileWarnsLoudly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let single = try ClusterProcesses(names: ["m1"], directory: dir.path)
        defer { single.stopAll() }
        try single.start(extraArguments: ["--fsync=false"])
        #expect(single.members[0].recentLog.contains("AUTHENTICATION IS OFF"))
        let client = GroupClient(urls: [single.members[0].url], token: nil)
        defer { client.shutdown() }
        #expect(try await client.send(.GET, "/v1/jobs").status == 200, "open without a token file")
    }

    @Test(.timeLimit(.minutes(1)))
    func aGroupWithATokenFileButNoPeerTokenRefusesToStart() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tokenPath = dir.path + "/tokens"
        try Self.tokens.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let (status, message) = try Self.cli(["serve", "--id", "m1", "--data-dir", dir.path + "/d", "--api", "127.0.0.1:0",
                                              "--peers", "m1=127.0.0.1:1,m2=127.0.0.1:2", "--token-file", tokenPath],
                                             environment: [:])
        #expect(status == 2 && message.contains("--peer-token is required"), "\(message)")
        let (bad, why) = try Self.cli(["serve", "--data-dir", dir.path + "/d", "--api", "127.0.0.1:0", "--token-file", dir.path + "/none"],
                                      environment: [:])
        #expect(bad == 2 && why.contains("--token-file"), "\(why)")
    }

    /// Agents present their tokens: the right one registers, a wrong one is refused (401), and
    /// a token named after another agent id cannot register as this one (403). No Docker
    /// needed: an agent registers, unhealthy, without it.
    @Test(.timeLimit(.minutes(1)))
    func agentsAuthenticateAsThemselves() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try (Self.tokens + "\nagent good agent-token-good-0123456789\n").write(toFile: dir.path + "/tokens", atomically: true, encoding: .utf8)
        let master = try MasterProcess(dataDirectory: dir.path + "/m", extraArguments: ["--fsync=false", "--token-file", dir.path + "/tokens"])
        defer { master.kill() }
        func agent(_ id: String, token: String) throws -> AgentProcess {
            try AgentProcess(id: id, masters: [master.url], dataDirectory: dir.path + "/" + id, dockerSocket: dir.path + "/no-docker.sock",
                             environment: ["FULLER_TOKEN": token])
        }
        let good = try agent("good", token: "agent-token-good-0123456789")
        let wrong = try agent("wrong", token: "agent-token-wrong-0123456789")
        let impostor = try agent("impostor", token: "agent-token-good-0123456789")
        defer { [good, wrong, impostor].forEach { $0.kill() } }
        let reader = GroupClient(urls: [master.url], token: "read-token-9f8e7d6c5b4a3f2e")
        defer { reader.shutdown() }
        try await Self.eventually("the good agent registered") {
            try await reader.send(.GET, "/v1/agents/good").status == 200
        }
        try await Self.eventually("the others refused") {
            wrong.recentLog.contains("401") && impostor.recentLog.contains("403")
        }
        #expect(try await reader.send(.GET, "/v1/agents/wrong").status == 404)
        #expect(try await reader.send(.GET, "/v1/agents/impostor").status == 404)
        for log in [good.recentLog, wrong.recentLog, impostor.recentLog] {
            #expect(!log.contains("agent-token-"), "an agent logged a token")
        }
    }

    /// `dev --token-file`: the master requires tokens and its local agent gets one of its own.
    @Test(.timeLimit(.minutes(1)))
    func devWithATokenFileGivesItsAgentAToken() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tokens.write(toFile: dir.path + "/tokens", atomically: true, encoding: .utf8)
        let dev = try MasterProcess(dataDirectory: dir.path + "/dev", extraArguments: [
            "--fsync=false", "--token-file", dir.path + "/tokens", "--agent-api", "127.0.0.1:0", "--metadata", "127.0.0.1:0",
            "--docker-socket", dir.path + "/no-docker.sock",
        ], command: "dev")
        defer { dev.kill(SIGTERM) }
        let reader = GroupClient(urls: [dev.url], token: "read-token-9f8e7d6c5b4a3f2e")
        let anonymous = GroupClient(urls: [dev.url], token: nil)
        defer { reader.shutdown(); anonymous.shutdown() }
        try await Self.eventually("the local agent registered") {
            try await reader.send(.GET, "/v1/agents/dev-agent").status == 200
        }
        #expect(try await anonymous.send(.GET, "/v1/agents").status == 401)
    }
}
