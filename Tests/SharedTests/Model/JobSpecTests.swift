import Foundation
import Testing
@testable import Model

/// Decoding and validation of submitted jobs: every rule names its field.
@Suite struct JobSpecTests {
    static let batch = #"""
    {"name":"hello","owner":"team@example.com","type":"batch",
     "container":{"image":"fuller/test:1","command":["echo","hi"],"resources":{"cpu":0.5,"memoryMB":128}},
     "batch":{"size":3,"retryPolicy":{"exponential":{"initialDelayMs":100,"maxDelayMs":1000,"retries":2}}}}
    """#

    static func decode(_ text: String) throws -> JobSpec {
        try JobSpec(json: JSONParser.parse(text))
    }

    /// Applies `edit` to the sample batch job's JSON object tree.
    static func field(of text: String) -> FieldError? {
        do {
            let spec = try decode(text)
            try spec.validate()
            return nil
        } catch let e as FieldError {
            return e
        } catch {
            return FieldError(field: "<json>", message: "\(error)")
        }
    }

    @Test func decodesAndRoundTrips() throws {
        let spec = try Self.decode(Self.batch)
        try spec.validate()
        #expect(spec.batch?.size == 3)
        #expect(spec.tier == .flex && spec.capacityGroup == "default")
        #expect(spec.retryPolicy == .exponential(initialDelayMs: 100, maxDelayMs: 1000, retries: 2))
        var w = JSONWriter()
        spec.write(to: &w)
        #expect(try JobSpec(json: JSONParser.parse(w.bytes)) == spec)
    }

    /// `container.metadata.requireTokens` is read, kept through a round trip and through an
    /// assignment (the agent's copy of the spec), and left out of the JSON when false.
    @Test func metadataOptionsRoundTrip() throws {
        let required = Self.batch.replacingOccurrences(of: #""memoryMB":128}"#,
                                                       with: #""memoryMB":128},"metadata":{"requireTokens":true}"#)
        let spec = try Self.decode(required)
        try spec.validate()
        #expect(spec.container.metadata.requireTokens)
        var w = JSONWriter()
        spec.write(to: &w)
        #expect(try JobSpec(json: JSONParser.parse(w.bytes)) == spec)
        let assignment = TaskAssignment(taskId: "t", jobId: "j", index: 0, attempt: 0, container: spec.container, runtimeLimitSeconds: nil)
        var a = JSONWriter()
        assignment.write(to: &a)
        #expect(try TaskAssignment(json: JSONParser.parse(a.bytes), path: "").container.metadata.requireTokens)

        let plain = try Self.decode(Self.batch)
        #expect(!plain.container.metadata.requireTokens)
        var p = JSONWriter()
        plain.write(to: &p)
        #expect(!String(decoding: p.bytes, as: UTF8.self).contains("metadata"))
    }

    @Test(arguments: [
        (#""name":"hello""#, #""name":"hello","colour":"red""#, "colour"),
        (#""cpu":0.5"#, #""cpu":0.5,"gpu":1"#, "container.resources.gpu"),
        (#""cpu":0.5"#, #""cpu":0"#, "container.resources.cpu"),
        (#""cpu":0.5"#, #""cpu":"lots""#, "container.resources.cpu"),
        (#""memoryMB":128"#, #""memoryMB":0"#, "container.resources.memoryMB"),
        (#""memoryMB":128"#, #""memoryMB":1.5"#, "container.resources.memoryMB"),
        (#""size":3"#, #""size":0"#, "batch.size"),
        (#""size":3"#, #""size":10001"#, "batch.size"),
        (#""type":"batch""#, #""type":"cron""#, "type"),
        (#""name":"hello""#, #""name":"he llo""#, "name"),
        (#""image":"fuller/test:1""#, #""image":"""#, "container.image"),
        (#""command":["echo","hi"]"#, #""command":["echo",3]"#, "container.command[1]"),
        (#""maxDelayMs":1000"#, #""maxDelayMs":10"#, "batch.retryPolicy.exponential.maxDelayMs"),
        (#""type":"batch""#, #""type":"batch","constraints":{"hard":{"rackAware":"true"}}"#, "constraints.hard.rackAware"),
        (#""type":"batch""#, #""type":"batch","constraints":{"soft":{"uniqueHost":"yes"}}"#, "constraints.soft.uniqueHost"),
        (#""type":"batch""#, #""type":"batch","labels":{"fuller.x":"1"}"#, "labels.fuller.x"),
        (#""command":["echo","hi"]"#, #""command":["echo","hi"],"env":{"FULLER_TASK_ID":"x"}"#, "container.env.FULLER_TASK_ID"),
        (#""command":["echo","hi"]"#, #""command":["echo","hi"],"env":{"1BAD":"x"}"#, "container.env.1BAD"),
        (#""type":"batch""#, #""type":"service""#, "service"),
        (#""owner":"team@example.com","#, "", "owner"),
    ])
    func rejectsWithField(original: String, replacement: String, field: String) {
        let text = Self.batch.replacingFirst(original, with: replacement)
        #expect(text != Self.batch)
        #expect(Self.field(of: text)?.field == field)
    }

    @Test func serviceCapacityMustBeOrdered() throws {
        let text = #"""
        {"name":"web","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},
         "service":{"capacity":{"min":2,"desired":1,"max":3}}}
        """#
        #expect(Self.field(of: text)?.field == "service.capacity.desired")
        #expect(Self.field(of: text.replacingFirst(#""min":2"#, with: #""min":4"#))?.field == "service.capacity.min")
        #expect(Self.field(of: text.replacingFirst(#""min":2"#, with: #""min":1"#)) == nil)
    }

    @Test func exponentialBackOffIsCapped() {
        let p = RetryPolicy.exponential(initialDelayMs: 100, maxDelayMs: 1_000, retries: 10)
        #expect((1...6).map { p.delayMs(beforeAttempt: $0) } == [100, 200, 400, 800, 1_000, 1_000])
        #expect(p.delayMs(beforeAttempt: 200) == 1_000)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
