import Model
import Shared

/// `autoscaler`: `GET /v1/autoscaler` as a table of groups, each group's latest decision, and
/// the last actions (oldest first, so the newest is nearest the prompt).
enum AutoscalerVerbs {
    /// Actions the table shows at most; `--json` has them all.
    static let actionsShown = 20

    static func show(_ c: VerbContext) throws(CLIFailure) {
        let (raw, status) = try c.session.json(.GET, "/v1/autoscaler")
        if c.json { return c.printJSON(raw) }
        c.io.writeOutput(text(status, now: c.io.wallClockNow()))
    }

    /// `agents of 2 cpu / 4096 MB in a, b; cooldown 60s; scale-down step 10`.
    static func rulesText(_ rules: JSONValue?) -> String {
        let zones = rules?.at("shape.zones").map { TableText.text($0) }.flatMap { $0 == "-" ? nil : " in " + $0.replacingOccurrences(of: " ", with: ", ") } ?? ""
        return "agents of \(TableText.text(rules?.at("shape.cpu"))) cpu / \(TableText.text(rules?.at("shape.memoryMB"))) MB\(zones); "
            + "cooldown \(TableText.text(rules?["cooldownSeconds"]))s; scale-down step \(TableText.text(rules?["scaleDownStepMax"]))"
    }

    static func text(_ status: JSONValue, now: Timestamp) -> String {
        guard status["enabled"] == .bool(true) else { return "autoscaling is off (start the master with --autoscale-rules FILE)\n" }
        var out = "provider \(TableText.text(status.at("provider.command")))   evaluated \(TableText.age(from: status.string(at: "evaluatedAt"), now: now)) ago"
            + "   unmatched tasks \(TableText.text(status["unmatchedTasks"]))\n\n"
        var groups = TextTable(["GROUP", "SIZE", "MIN-MAX", "IDLE", "KEEP IDLE", "BUSY", "DRAINING", "EXPECTED", "SHORTFALL", "ZONES", "COOLDOWN"])
        var decisions = ""
        if case .array(let items)? = status["groups"] {
            for g in items {
                let cooldown = g.string(at: "cooldownUntil").map { until in
                    Timestamp(rfc3339: until).map { "\(max(0, ($0.millisecondsSinceEpoch - now.millisecondsSinceEpoch + 999) / 1000))s" } ?? until
                } ?? "-"
                groups.add([TableText.text(g["name"]), TableText.text(g["size"]),
                            "\(TableText.text(g.at("rules.minSize")))-\(TableText.text(g.at("rules.maxSize")))",
                            TableText.text(g["idle"]), "\(TableText.text(g.at("rules.minIdle")))-\(TableText.text(g.at("rules.maxIdle")))",
                            TableText.text(g["busy"]), TableText.text(g["draining"]), TableText.text(g["expected"]),
                            TableText.text(g["shortfallTasks"]), TableText.pairs(g["zones"]), cooldown])
                decisions += "\(TableText.text(g["name"])): \(rulesText(g["rules"]))\n  \(TableText.text(g["decision"]))\n"
            }
        }
        out += groups.text + "\n" + decisions
        guard case .array(let actions)? = status["actions"], !actions.isEmpty else { return out + "\nno actions yet\n" }
        var table = TextTable(["ID", "AGE", "GROUP", "ACTION", "AGENTS", "RESULT", "REASON"])
        for a in actions.suffix(actionsShown) {
            let agents = a["agents"].flatMap { v -> String? in if case .array(let l) = v, !l.isEmpty { TableText.text(v) } else { nil } }
            var result = TableText.text(a["result"])
            if let message = a.string(at: "message"), a["result"] == .string("failed") { result += " (\(message.prefix(80)))" }
            table.add([TableText.text(a["id"]), TableText.age(from: a.string(at: "at"), now: now), TableText.text(a["group"]),
                       "\(TableText.text(a["kind"])) \(TableText.text(a["count"]))", agents ?? "-", result, TableText.text(a["reason"])])
        }
        return out + "\n" + table.text
    }
}
