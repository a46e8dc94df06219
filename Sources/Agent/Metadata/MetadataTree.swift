import Model
import Shared

/// Every answer one caller can get that does not change while its container runs, computed
/// once when the caller appears so that a request costs one dictionary lookup.
///
/// EC2's layout: a directory answers with its entries one per line, subdirectories with a
/// trailing `/`; it answers at its path with and without the trailing `/`, and so does a value
/// (botocore asks for `placement/availability-zone/`). A value the agent does not have (no
/// `--zone`, no `--machine-type`) is not there at all: 404 and not listed, never an empty answer.
struct MetadataTree: Sendable {
    struct Entry: Sendable {
        var contentType: String
        var body: [UInt8]
    }

    static let text = "text/plain"
    static let json = "application/json"

    private(set) var entries: [String: Entry] = [:]

    init(_ identity: TaskIdentity, host: MetadataHost) {
        let metaData: [(String, String)] = [
            ("hostname", identity.hostname), ("instance-id", identity.taskId), ("instance-type", host.machineType),
            ("local-hostname", identity.hostname), ("local-ipv4", identity.ip),
        ]
        let placement = [("availability-zone", host.zone), ("region", host.region)].filter { !$0.1.isEmpty }
        var listing: [String] = []
        for (name, value) in metaData where !value.isEmpty {
            leaf("/latest/meta-data/" + name, value)
            listing.append(name)
        }
        for (name, value) in placement { leaf("/latest/meta-data/placement/" + name, value) }
        if !placement.isEmpty { listing.append("placement/") }
        if host.credentialsProvider { listing.append("iam/") }
        entries["/latest/dynamic/instance-identity/document"] =
            Entry(contentType: Self.text, body: Self.identityDocument(identity, host: host))
        entries["/fuller/v1/task"] = Entry(contentType: Self.json, body: Self.taskDocument(identity, host: host))
        directory("/", ["latest"])
        directory("/latest", ["dynamic", "meta-data"])
        directory("/latest/meta-data", listing.sorted())
        if !placement.isEmpty { directory("/latest/meta-data/placement", placement.map(\.0)) }
        if host.credentialsProvider { directory("/latest/meta-data/iam", ["security-credentials/"]) }
        directory("/latest/dynamic", ["instance-identity/"])
        directory("/latest/dynamic/instance-identity", ["document"])
    }

    subscript(path: Substring) -> Entry? { entries[String(path)] }

    private mutating func leaf(_ path: String, _ value: String) {
        let entry = Entry(contentType: Self.text, body: Array(value.utf8))
        entries[path] = entry
        entries[path + "/"] = entry
    }

    private mutating func directory(_ path: String, _ names: [String]) {
        let entry = Entry(contentType: Self.text, body: Array(names.joined(separator: "\n").utf8))
        entries[path] = entry
        if path != "/" { entries[path + "/"] = entry }
    }

    /// `/latest/dynamic/instance-identity/document`: EC2's fields that have a meaning here.
    static func identityDocument(_ identity: TaskIdentity, host: MetadataHost) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("architecture", host.architecture)
        w.nonEmptyField("availabilityZone", host.zone)
        w.field("imageId", identity.image)
        w.field("instanceId", identity.taskId)
        w.nonEmptyField("instanceType", host.machineType)
        if let startedAt = identity.startedAt { w.field("pendingTime", startedAt) }
        w.field("privateIp", identity.ip)
        w.nonEmptyField("region", host.region)
        w.field("version", "2017-09-30")
        w.endObject()
        return w.bytes
    }

    /// `/fuller/v1/task`: the task, its container and the agent it runs on.
    static func taskDocument(_ identity: TaskIdentity, host: MetadataHost) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("taskId", identity.taskId)
        w.field("jobId", identity.jobId)
        w.field("index", identity.index)
        w.field("attempt", identity.attempt)
        w.field("containerId", identity.containerId)
        w.field("ip", identity.ip)
        w.field("hostname", identity.hostname)
        w.field("image", identity.image)
        w.key("resources"); identity.resources.write(to: &w)
        if let startedAt = identity.startedAt { w.field("startedAt", startedAt) }
        w.field("requireTokens", identity.requireTokens)
        w.key("agent")
        w.beginObject()
        w.field("id", host.agentId)
        w.nonEmptyField("zone", host.zone)
        w.nonEmptyField("region", host.region)
        w.nonEmptyField("machineType", host.machineType)
        w.nonEmptyField("machineGroup", host.machineGroup)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}

private extension JSONWriter {
    /// A member the agent may not have (a zone, a machine type): left out rather than `""`.
    mutating func nonEmptyField(_ name: String, _ value: String) {
        if !value.isEmpty { field(name, value) }
    }
}
