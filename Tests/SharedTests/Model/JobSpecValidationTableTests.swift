import Testing
@testable import Model

/// Every validation rule of a job spec, each with the field its error must name.
@Suite struct JobSpecValidationTableTests {
    static let batch = #"""
    {"name":"hello","owner":"o@example.com","type":"batch","labels":{"team":"a"},
     "container":{"image":"fuller/test:1","command":["echo"],"env":{"A":"b"},"resources":{"cpu":1,"memoryMB":64},
                  "healthCheck":{"exec":["true"]}},
     "batch":{"size":2,"runtimeLimitSeconds":60,"retryPolicy":{"immediate":{"retries":1}}},
     "constraints":{"hard":{"uniqueHost":"true"},"soft":{"availabilityZone":"a"}},
     "disruptionBudget":{"maxUnavailable":1}}
    """#
    static let service = #"""
    {"name":"web","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},
     "service":{"capacity":{"min":1,"desired":2,"max":3},"retryPolicy":{"delayed":{"delayMs":10,"retries":2}}}}
    """#

    /// Sets (or with nil removes) the member at a dotted path of an object tree.
    static func edit(_ value: JSONValue, _ path: [String], _ new: JSONValue?) -> JSONValue {
        guard case .object(var members) = value, let key = path.first else { return new ?? .null }
        let index = members.firstIndex { $0.0 == key }
        if path.count == 1 {
            if let new { if let index { members[index].1 = new } else { members.append((key, new)) } } else if let index { members.remove(at: index) }
        } else {
            let child = index.map { members[$0].1 } ?? .object([])
            let edited = edit(child, Array(path.dropFirst()), new)
            if let index { members[index].1 = edited } else { members.append((key, edited)) }
        }
        return .object(members)
    }

    static func errorField(base: String, path: String, value: JSONValue?) throws -> String? {
        let edited = edit(try JSONParser.parse(base), path.split(separator: ".").map(String.init), value)
        do {
            try JobSpec(json: edited).validate()
            return nil
        } catch {
            return error.field
        }
    }

    static let long = String(repeating: "x", count: 600)
    static let manyLabels = JSONValue.object((0..<65).map { ("k\($0)", .string("v")) })
    static let manyArgs = JSONValue.array((0..<257).map { _ in .string("a") })

    /// (edit path, new value or nil to delete, field the error must name)
    static let cases: [(String, JSONValue?, String)] = [
        ("name", nil, "name"), ("name", .string(""), "name"), ("name", .string("-x"), "name"), ("name", .string(long), "name"),
        ("owner", nil, "owner"), ("owner", .string(""), "owner"), ("owner", .string("a\u{1}"), "owner"),
        ("type", nil, "type"), ("type", .string("cron"), "type"), ("type", .int(1), "type"),
        ("tier", .string("gold"), "tier"), ("capacityGroup", .string("a b"), "capacityGroup"),
        ("labels", manyLabels, "labels"), ("labels.bad key", .string("v"), "labels.bad key"),
        ("labels", .object([("fuller.x", .string("v"))]), "labels.fuller.x"), ("labels.team", .int(3), "labels.team"),
        ("labels.team", .string(long), "labels.team"), ("extra", .bool(true), "extra"),
        ("container", nil, "container"), ("container.image", nil, "container.image"), ("container.image", .string(""), "container.image"),
        ("container.image", .string("a b"), "container.image"), ("container.image", .string(long), "container.image"),
        ("container.command", manyArgs, "container.command"), ("container.command", .array([.string("a\u{0}")]), "container.command[0]"),
        ("container.entrypoint", .array([.int(1)]), "container.entrypoint[0]"), ("container.entrypoint", manyArgs, "container.entrypoint"),
        ("container.env.FULLER_X", .string("v"), "container.env.FULLER_X"), ("container.env.1A", .string("v"), "container.env.1A"),
        ("container.env.B", .string(String(repeating: "x", count: 33 * 1024)), "container.env.B"),
        ("container.bogus", .int(1), "container.bogus"),
        ("container.metadata.requireTokens", .string("yes"), "container.metadata.requireTokens"),
        ("container.metadata.bogus", .bool(true), "container.metadata.bogus"), ("container.metadata", .int(1), "container.metadata"),
        ("container.resources", nil, "container.resources"), ("container.resources.cpu", nil, "container.resources.cpu"),
        ("container.resources.cpu", .int(0), "container.resources.cpu"), ("container.resources.cpu", .double(-1), "container.resources.cpu"),
        ("container.resources.cpu", .int(2_000), "container.resources.cpu"), ("container.resources.memoryMB", nil, "container.resources.memoryMB"),
        ("container.resources.memoryMB", .int(0), "container.resources.memoryMB"), ("container.resources.diskMB", .int(-1), "container.resources.diskMB"),
        ("container.resources.networkMbps", .int(-1), "container.resources.networkMbps"), ("container.resources.gpu", .int(1), "container.resources.gpu"),
        ("container.healthCheck.exec", .array([]), "container.healthCheck.exec"),
        ("container.healthCheck.http", .object([("port", .int(80))]), "container.healthCheck"),
        ("container.healthCheck.intervalSeconds", .int(0), "container.healthCheck.intervalSeconds"),
        ("container.healthCheck.timeoutSeconds", .int(20), "container.healthCheck.timeoutSeconds"),
        ("container.healthCheck.retries", .int(0), "container.healthCheck.retries"),
        ("container.healthCheck.startPeriodSeconds", .int(-1), "container.healthCheck.startPeriodSeconds"),
        ("container.healthCheck", .object([("http", .object([("port", .int(0))]))]), "container.healthCheck.http.port"),
        ("container.healthCheck", .object([("http", .object([("port", .int(80)), ("path", .string("x"))]))]), "container.healthCheck.http.path"),
        ("batch", nil, "batch"), ("batch.size", nil, "batch.size"), ("batch.size", .int(0), "batch.size"),
        ("batch.size", .int(10_001), "batch.size"), ("batch.runtimeLimitSeconds", .int(0), "batch.runtimeLimitSeconds"),
        ("batch.retryPolicy.immediate.retries", .int(-1), "batch.retryPolicy.immediate.retries"),
        ("batch.retryPolicy.delayed", .object([("delayMs", .int(1)), ("retries", .int(1))]), "batch.retryPolicy"),
        ("batch.retryPolicy", .object([("delayed", .object([("delayMs", .int(-1)), ("retries", .int(1))]))]), "batch.retryPolicy.delayed.delayMs"),
        ("batch.retryPolicy", .object([("exponential", .object([("initialDelayMs", .int(0)), ("maxDelayMs", .int(5)), ("retries", .int(1))]))]),
         "batch.retryPolicy.exponential.initialDelayMs"),
        ("batch.retryPolicy", .object([("sometimes", .object([]))]), "batch.retryPolicy.sometimes"),
        ("service", .object([("capacity", .object([("min", .int(0)), ("desired", .int(0)), ("max", .int(0))]))]), "service"),
        ("constraints.hard.rack", .string("x"), "constraints.hard.rack"), ("constraints.soft.zoneBalance", .string("1"), "constraints.soft.zoneBalance"),
        ("constraints.hard.hostAttribute:", .string("x"), "constraints.hard.hostAttribute:"),
        ("constraints.hard.machineType", .string(""), "constraints.hard.machineType"), ("constraints.other", .object([]), "constraints.other"),
        ("disruptionBudget.maxUnavailable", .int(0), "disruptionBudget.maxUnavailable"),
        ("disruptionBudget.maxUnavailablePercent", .int(5), "disruptionBudget"),
        ("disruptionBudget", .object([("maxUnavailablePercent", .int(101))]), "disruptionBudget.maxUnavailablePercent"),
    ]

    @Test(arguments: cases)
    func batchRule(path: String, value: JSONValue?, field: String) throws {
        #expect(try Self.errorField(base: Self.batch, path: path, value: value) == field)
    }

    @Test(arguments: [
        ("service", nil, "service"), ("service.capacity", nil, "service.capacity"), ("service.capacity.min", .int(-1), "service.capacity.min"),
        ("service.capacity.max", .int(10_001), "service.capacity.max"), ("service.capacity.desired", .int(5), "service.capacity.desired"),
        ("service.capacity.min", .int(4), "service.capacity.min"), ("service.capacity.extra", .int(1), "service.capacity.extra"),
        ("batch", .object([("size", .int(1))]), "batch"), ("service.retryPolicy.delayed.retries", nil, "service.retryPolicy.delayed.retries"),
    ] as [(String, JSONValue?, String)])
    func serviceRule(path: String, value: JSONValue?, field: String) throws {
        #expect(try Self.errorField(base: Self.service, path: path, value: value) == field)
    }

    @Test func theBasesAreValid() throws {
        #expect(try Self.errorField(base: Self.batch, path: "name", value: .string("hello")) == nil)
        #expect(try Self.errorField(base: Self.service, path: "name", value: .string("web")) == nil)
    }
}
