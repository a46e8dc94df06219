import Testing
@testable import Master
import Model
import Shared

@Suite struct FormattingTests {
    @Test(arguments: [
        ("2026-11-25T16:29:59.000Z", "1s"), ("2026-11-25T16:29:00.000Z", "1m"), ("2026-11-25T16:00:00.000Z", "30m"),
        ("2026-11-24T17:00:00.000Z", "23h"), ("2026-11-23T16:30:00.001Z", "47h"), ("2026-11-20T16:30:00.000Z", "5d"),
        ("2026-11-25T17:00:00.000Z", "0s"), ("not a time", "-"),
    ])
    func age(created: String, expected: String) {
        #expect(TableText.age(from: created, now: CLIHarness.now) == expected)
    }

    @Test(arguments: [
        (#"{"Accepted":1,"Started":2}"#, "2 Started, 1 Accepted"),
        (#"{"Accepted":1,"Started":1,"Finished":4}"#, "4 Finished, 1 Accepted, 1 Started"),
        (#"{}"#, "-"),
    ])
    func taskSummary(counts: String, expected: String) throws {
        #expect(TableText.taskSummary(try JSONParser.parse(counts)) == expected)
    }

    @Test func tableHasNoTrailingSpaces() {
        var table = TextTable(["ID", "NAME"])
        table.add(["a-long-id", ""])
        table.add(["b", "x"])
        #expect(table.text == "ID          NAME\na-long-id\nb           x\n")
    }

    @Test func clusterMarksTheLeader() throws {
        let h = CLIHarness()
        h.master.on("GET /v1/cluster", .json(200, #"{"members":[{"id":"m1","apiAddress":"10.0.0.1:4700","peerAddress":"10.0.0.1:4701","role":"leader","matchIndex":120,"lag":0},{"id":"m2","apiAddress":"10.0.0.2:4700","peerAddress":"10.0.0.2:4701","role":"follower","matchIndex":117,"lag":3}],"leader":"m1","term":4,"commitIndex":120,"appliedIndex":119}"#))
        #expect(h.run("cluster") == 0)
        #expect(h.output == """
            leader m1   term 4   commit 120   applied 119

            ID     ROLE       API ADDRESS     PEER ADDRESS    MATCH   LAG
            m1 *   leader     10.0.0.1:4700   10.0.0.1:4701   120     0
            m2     follower   10.0.0.2:4700   10.0.0.2:4701   117     3

            """)
    }

    @Test func queryValuesArePercentEncoded() {
        #expect(RequestTarget.encode("a=b c&d/é") == "a%3Db%20c%26d%2F%C3%A9")
        #expect(RequestTarget.with("/v1/tasks", query: []) == "/v1/tasks")
    }

    @Test func locationResolvesAgainstTheServer() {
        #expect(APISession.resolve("http://10.0.0.2:4700/v1/jobs?x=1", server: "http://a:1") == ("http://10.0.0.2:4700", "/v1/jobs?x=1"))
        #expect(APISession.resolve("/v1/jobs", server: "http://a:1") == ("http://a:1", "/v1/jobs"))
    }
}
