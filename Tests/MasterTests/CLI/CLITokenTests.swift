import Testing
@testable import Master
import Shared

/// The CLI's bearer token: `--token` or `FULLER_TOKEN`, on every request and every redirect.
@Suite struct CLITokenTests {
    static let cluster = #"{"members":[],"leader":"m1","term":1,"commitIndex":0,"appliedIndex":0}"#

    @Test func theTokenGoesWithEveryRequestAndFollowsRedirects() {
        let h = CLIHarness()
        h.master.on("GET /v1/agents", .json(307, #"{"error":{"code":"not_leader","message":"m"}}"#,
                                           headers: ["Location": "http://10.0.0.12:4700/v1/agents"]),
                    .json(200, #"{"items":[]}"#))
        #expect(h.run("agents", environment: ["FULLER_TOKEN": "read-token-0123456789"]) == 0, "\(h.errors)")
        #expect(h.connections == [CLI.defaultServer, "http://10.0.0.12:4700"])
        #expect(h.master.requests.map { $0.headers["Authorization"] } == ["Bearer read-token-0123456789", "Bearer read-token-0123456789"])
    }

    @Test func theFlagWinsOverTheEnvironmentAndAnEmptyTokenSendsNone() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(200, Self.cluster))
        #expect(h.run("cluster --token flag-token-0123456789", environment: ["FULLER_TOKEN": "env-token-0123456789"]) == 0)
        #expect(h.run("cluster", environment: ["FULLER_TOKEN": ""]) == 0)
        #expect(h.master.requests.map { $0.headers["Authorization"] } == ["Bearer flag-token-0123456789", nil])
    }

    @Test func a401SaysHowToGiveAToken() {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(401, #"{"error":{"code":"unauthenticated","message":"this route needs a bearer token (Authorization: Bearer TOKEN)"}}"#))
        #expect(h.run("cluster") == 1)
        #expect(h.errors == """
            error: unauthenticated: this route needs a bearer token (Authorization: Bearer TOKEN)
            hint: the master requires a token; set --token or FULLER_TOKEN

            """)
    }
}
