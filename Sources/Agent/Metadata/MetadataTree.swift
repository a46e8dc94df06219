import Model
import Shared

/// Every answer one caller can get that does not change while its container runs, computed
/// once when the caller appears so that a request costs one dictionary lookup.
///
/// EC2's layout: a directory answers with its entries one per line, subdirectories with a
/// trailing `/`; it answers at its path with and without the trailing `/`.
struct MetadataTree: Sendable {
    struct Entry: Sendable {
        var contentType: String
        var body: [UInt8]
    }

    static let text = "text/plain"
    static let json = "application/json"

    private(set) var entries: [String: Entry] = [:]

    init(_ identity: TaskIdentity, host: MetadataHost) {
        let leaves: [(String, String)] = [
            ("/latest/meta-data/instance-id", identity.taskId),
            ("/latest/meta-data/local-ipv4", identity.ip),
            ("/latest/meta-data/local-hostname", identity.hostname),
            ("/latest/meta-data/hostname", identity.hostname),
            ("/latest/meta-data/instance-type", host.machineType),
            ("/latest/meta-data/placement/availability-zone", host.zone),
            ("/latest/meta-data/placement/region", host.region),
        ]
        for (path, value) in leaves { entries[path] = Entry(contentType: Self.text, body: Array(value.utf8)) }
        entries["/latest/dynamic/instance-identity/document"] =
            Entry(contentType: Self.text, body: Self.identityDocument(identity, host: host))
        entries["/fuller/v1/task"] = Entry(contentType: Self.json, body: Self.taskDocument(identity, host: host))
        var metaData = ["hostname", "instance-id", "instance-type", "local-hostname", "local-ipv4", "placement/"]
        if host.credentialsProvider { metaData.insert("iam/", at: 1) }
        directory("/", ["latest"])
        directory("/latest", ["dynamic", "meta-data"])
        directory("/latest/meta-data", metaData)
        directory("/latest/meta-data/placement", ["availability-zone", "region"])
        if host.credentialsProvider { directory("/latest/meta-data/iam", ["security-credentials/"]) }
        directory("/latest/dynamic", ["instance-identity/"])
        directory("/latest/dynamic/instance-identity", ["document"])
    }

    subscript(path: Substring) -> Entry? { entries[String(path)] }

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
        w.field("availabilityZone", host.zone)
        w.field("imageId", identity.image)
        w.field("instanceId", identity.taskId)
        w.field("instanceType", host.machineType)
        if let startedAt = identity.startedAt { w.field("pendingTime", startedAt) }
        w.field("privateIp", identity.ip)
        w.field("region", host.region)
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
        w.field("zone", host.zone)
        w.field("region", host.region)
        w.field("machineType", host.machineType)
        w.field("machineGroup", host.machineGroup)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
