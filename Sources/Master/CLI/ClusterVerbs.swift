import Model
import Shared

/// `agents` and `cluster` (show, add, remove).
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

    /// `cluster add ID PEER-ADDRESS`: `POST /v1/cluster/members`; says whether the new master
    /// already votes or is still catching up as a learner.
    static func add(_ c: VerbContext) throws(CLIFailure) {
        let (name, address) = (c.parsed.positionals[0], c.parsed.positionals[1])
        var w = JSONWriter()
        w.beginObject()
        w.field("id", name)
        w.field("peerAddress", address)
        w.endObject()
        let (raw, member) = try c.session.json(.POST, "/v1/cluster/members", body: w.bytes)
        if c.json { return c.printJSON(raw) }
        if member["role"] == .string("voter") {
            c.io.print("added \(name) (\(address)); it votes")
        } else {
            c.io.print("added \(name) (\(address)) as a learner; it becomes a voter once caught up (see fuller-master cluster)")
        }
    }

    /// `cluster remove ID`: `DELETE /v1/cluster/members/{id}`.
    static func remove(_ c: VerbContext) throws(CLIFailure) {
        let (raw, _) = try c.session.json(.DELETE, RequestTarget.path("/v1/cluster/members/", c.argument))
        if c.json { return c.printJSON(raw) }
        c.io.print("removed \(c.argument)")
    }

    static func clusterText(_ cluster: JSONValue) -> String {
        let leader = cluster["leader"]
        var text = "leader \(TableText.text(leader))   term \(TableText.text(cluster["term"]))   "
            + "commit \(TableText.text(cluster["commitIndex"]))   applied \(TableText.text(cluster["appliedIndex"]))\n\n"
        var table = TextTable(["ID", "ROLE", "API ADDRESS", "PEER ADDRESS", "MATCH", "LAG"])
        if case .array(let members)? = cluster["members"] {
            for member in members {
                let isLeader = leader != nil && member["id"] == leader
                table.add([TableText.text(member["id"]) + (isLeader ? " *" : ""), TableText.text(member["role"]),
                           TableText.text(member["apiAddress"]), TableText.text(member["peerAddress"]),
                           TableText.text(member["matchIndex"]), TableText.text(member["lag"])])
            }
        }
        text += table.text
        return String(text.dropLast())
    }
}
