import Testing
@testable import Autoscaler
import Model

@Suite struct AutoscalerRulesTests {
    static let full = #"""
    {"provider": {"command": ["/usr/local/bin/fuller-aws-asg", "--region", "eu-west-1"], "environment": {"A": "b"},
                  "timeoutSeconds": 90, "retries": 3, "retryDelaySeconds": 0.5},
     "failureBackoffSeconds": 20, "drainSettleSeconds": 1.5, "historyMax": 50,
     "groups": [{"name": "general", "minSize": 1, "maxSize": 20, "minIdle": 1, "maxIdle": 3, "cooldownSeconds": 120,
                 "scaleUpTimeoutSeconds": 300, "scaleDownStepMax": 5,
                 "shape": {"cpu": 4, "memoryMB": 16384, "zones": ["eu-west-1a", "eu-west-1b"], "machineType": "m5.xlarge",
                           "attributes": {"os": "linux"}}},
                {"name": "small", "maxSize": 3, "shape": {"cpu": 0.5, "memoryMB": 512}}]}
    """#

    @Test func readsEveryFieldAndFillsDefaults() throws {
        let rules = try AutoscalerRules(json: Array(Self.full.utf8))
        #expect(rules.provider.command == ["/usr/local/bin/fuller-aws-asg", "--region", "eu-west-1"])
        #expect(rules.provider.environment == ["A": "b"])
        #expect(rules.provider.timeoutMilliseconds == 90_000 && rules.provider.retries == 3 && rules.provider.retryDelayMilliseconds == 500)
        #expect(rules.failureBackoffMilliseconds == 20_000 && rules.drainSettleMilliseconds == 1_500 && rules.historyMax == 50)
        let general = try #require(rules.group("general"))
        #expect(general.minSize == 1 && general.maxSize == 20 && general.minIdle == 1 && general.maxIdle == 3)
        #expect(general.cooldownMilliseconds == 120_000 && general.scaleUpTimeoutMilliseconds == 300_000 && general.scaleDownStepMax == 5)
        #expect(general.shape == AgentShape(resources: Resources(cpu: 4, memoryMB: 16_384), zones: ["eu-west-1a", "eu-west-1b"],
                                            machineType: "m5.xlarge", attributes: ["os": "linux"]))
        let small = try #require(rules.group("small"))
        #expect(small.minSize == 0 && small.minIdle == 0 && small.maxIdle == 1 && small.cooldownMilliseconds == 60_000)
        #expect(rules.groups.map(\.name) == ["general", "small"])
    }

    @Test(arguments: [
        (#"{"groups":[]}"#, "provider"),
        (#"{"provider":{"command":[]},"groups":[]}"#, "provider.command"),
        (#"{"provider":{"command":["p"]},"groups":[]}"#, "groups"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":1,"memoryMB":1,"gpu":1}}]}"#, "groups[0].shape.gpu"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","minSize":3,"maxSize":2,"shape":{"cpu":1,"memoryMB":1}}]}"#, "groups[0].minSize"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"minIdle":2,"maxIdle":1,"shape":{"cpu":1,"memoryMB":1}}]}"#, "groups[0].minIdle"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":0,"memoryMB":1}}]}"#, "groups[0].shape.cpu"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2}]}"#, "groups[0].shape"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"a b","maxSize":2,"shape":{"cpu":1,"memoryMB":1}}]}"#, "groups[0].name"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":1,"memoryMB":1}},{"name":"g","maxSize":1,"shape":{"cpu":1,"memoryMB":1}}]}"#, "groups[1].name"),
        (#"{"provider":{"command":["p"],"timeoutSeconds":-1},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":1,"memoryMB":1}}]}"#, "provider.timeoutSeconds"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":1,"memoryMB":1,"zones":["a","a"]}}]}"#, "groups[0].shape.zones"),
        (#"{"provider":{"command":["p"]},"groups":[{"name":"g","maxSize":2,"shape":{"cpu":1,"memoryMB":1}}],"extra":1}"#, "extra"),
    ])
    func aBadFileNamesTheField(text: String, field: String) {
        #expect(throws: FieldError.self) { try AutoscalerRules(json: Array(text.utf8)) }
        do { _ = try AutoscalerRules(json: Array(text.utf8)) } catch { #expect(error.field == field, "\(error)") }
    }

    @Test func notJSONIsAnErrorToo() {
        #expect(throws: FieldError.self) { try AutoscalerRules(json: Array("{".utf8)) }
    }
}
