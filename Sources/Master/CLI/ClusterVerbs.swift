import Model
import Shared

/// `agents` and `cluster`.
enum ClusterVerbs {
    /// `agents`: `GET /v1/agents`, one row per agent. Fields an agent lacks show as `-`.
    static func agents(_ c: VerbContext) throws(CLIFailure) {
        let (raw, page) = try c.session.json(.GET, "/v1/agents")
        if c.json { return c.printJSON(raw) }
        guard case .array(let agents)? = page["items"] else { throw .failed("GET /v1/agents: the reply has no items array") }
        var table = TextTable(["ID", "HOSTNAME", "ADDRESS", "ZONE", "STATE", "TASKS", "CPU", "MEMORY MB", "AGE"])
        let now = c.io.wallClockNow()
        for agent in agents {
            table.add([TableText.text(agent["id"]), TableText.text(agent["hostname"]), TableText.text(agent["address"]),
                       TableText.text(agent.at("attributes.zone")), TableText.text(agent["state"]),
                       TableText.text(agent["taskCount"]),
                       "\(TableText.text(agent.at("used.cpu")))/\(TableText.text(agent.at("resources.cpu")))",
                       "\(TableText.text(agent.at("used.memoryMB")))/\(TableText.text(agent.at("resources.memoryMB")))",
                       TableText.age(from: agent.string(at: "registeredAt"), now: now)])
        }
        c.io.writeOutput(table.text)
    }

    /// `cluster`: a summary line, then one row per master with the leader marked.
    static func cluster(_ c: VerbContext) throws(CLIFailure) {
        let (raw, cluster) = try c.session.json(.GET, "/v1/cluster")
        if c.json { return c.printJSON(raw) }
        c.io.print(clusterText(cluster))
    }

    static func clusterText(_ cluster: JSONValue) -> String {
        let leader = cluster["leader"]
        var text = "leader \(TableText.text(leader))   term \(TableText.text(cluster["term"]))   "
            + "commit \(TableText.text(cluster["commitIndex"]))   applied \(TableText.text(cluster["appliedIndex"]))\n\n"
        var table = TextTable(["ID", "ROLE", "API ADDRESS"])
        if case .array(let members)? = cluster["members"] {
            for member in members {
                let isLeader = leader != nil && member["id"] == leader
                table.add([TableText.text(member["id"]) + (isLeader ? " *" : ""), TableText.text(member["role"]),
                           TableText.text(member["apiAddress"])])
            }
        }
        text += table.text
        return String(text.dropLast())
    }
}
