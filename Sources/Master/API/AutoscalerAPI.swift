import Autoscaler
import Model
import Shared

/// `GET /v1/autoscaler`: the rules, each group's sizes and latest decision, and the last
/// actions with their outcomes. Only the leader evaluates, so followers redirect this read.
struct AutoscalerAPI: Sendable {
    /// nil when the master runs without `--autoscale-rules`.
    let autoscaler: AutoscalerLoop?

    func register(on router: inout Router) {
        router.add(.GET, "/v1/autoscaler") { _, _, respond in
            respond(Rendering.json(200, Self.render(autoscaler)))
        }
    }

    static func render(_ loop: AutoscalerLoop?) -> [UInt8] {
        var w = JSONWriter(capacity: 4_096)
        w.beginObject()
        w.field("enabled", loop != nil)
        let status = loop?.status ?? .empty
        if let loop {
            w.field("intervalMilliseconds", loop.settings.interval.wholeMilliseconds)
            w.key("provider")
            let p = loop.settings.rules.provider
            w.beginObject()
            w.key("command"); w.stringArray(p.command)
            w.field("timeoutSeconds", Double(p.timeoutMilliseconds) / 1_000)
            w.field("retries", p.retries)
            w.endObject()
        }
        if let at = status.evaluatedAtMs { w.field("evaluatedAt", time(at)) }
        w.key("groups")
        w.beginArray()
        for group in status.groups { render(group, to: &w) }
        w.endArray()
        w.field("unmatchedTasks", status.unmatchedTasks)
        w.key("actions")
        w.beginArray()
        for record in status.actions { render(record, to: &w) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    private static func render(_ g: GroupStatus, to w: inout JSONWriter) {
        w.beginObject()
        w.field("name", g.rule.name)
        w.key("rules"); render(g.rule, to: &w)
        w.field("size", g.size)
        w.field("idle", g.idle)
        w.field("busy", g.busy)
        w.field("draining", g.draining)
        w.field("other", g.other)
        w.field("expected", g.expected)
        w.key("zones")
        w.beginObject()
        for (zone, count) in g.zones.sorted(by: { $0.key < $1.key }) { w.field(zone, count) }
        w.endObject()
        w.field("shortfallTasks", g.shortfallTasks)
        w.field("unsatisfiedTasks", g.unsatisfiedTasks)
        if let until = g.cooldownUntilMs { w.field("cooldownUntil", time(until)) }
        w.field("providerBusy", g.providerBusy)
        w.field("decision", g.decision)
        w.endObject()
    }

    private static func render(_ r: GroupRule, to w: inout JSONWriter) {
        w.beginObject()
        w.field("minSize", r.minSize); w.field("maxSize", r.maxSize)
        w.field("minIdle", r.minIdle); w.field("maxIdle", r.maxIdle)
        w.field("cooldownSeconds", Double(r.cooldownMilliseconds) / 1_000)
        w.field("scaleUpTimeoutSeconds", Double(r.scaleUpTimeoutMilliseconds) / 1_000)
        w.field("scaleDownStepMax", r.scaleDownStepMax)
        w.key("shape")
        w.beginObject()
        w.field("cpu", r.shape.resources.cpu); w.field("memoryMB", r.shape.resources.memoryMB)
        w.field("diskMB", r.shape.resources.diskMB); w.field("networkMbps", r.shape.resources.networkMbps)
        w.key("zones"); w.stringArray(r.shape.zones)
        if let type = r.shape.machineType { w.field("machineType", type) }
        w.key("attributes"); w.stringMap(r.shape.attributes)
        w.endObject()
        w.endObject()
    }

    private static func render(_ record: ActionRecord, to w: inout JSONWriter) {
        let a = record.action
        w.beginObject()
        w.field("id", a.id)
        w.field("at", time(a.atMs))
        w.field("group", a.group)
        w.field("kind", a.kind.rawValue)
        w.field("count", a.count)
        w.key("agents"); w.stringArray(record.agentIds)
        w.field("desiredSize", a.desiredSize)
        w.field("reason", a.reason)
        w.field("result", record.result.rawValue)
        if let message = record.message { w.field("message", message) }
        w.field("attempts", record.attempts)
        if let at = record.finishedAtMs { w.field("finishedAt", time(at)) }
        w.endObject()
    }

    private static func time(_ ms: Int64) -> String { Timestamp(millisecondsSinceEpoch: ms).rfc3339 }
}
