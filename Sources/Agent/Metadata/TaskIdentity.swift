import Model

/// Who a metadata caller is: one task whose container runs on this agent with a known IP.
/// The supervisor derives these from its state (`Supervisor.callers`); the metadata endpoint
/// answers a request only about the identity its source IP maps to.
struct TaskIdentity: Sendable, Equatable {
    var taskId: String
    var jobId: String
    var index: Int
    var attempt: Int
    var containerId: String
    var ip: String
    /// The container's host name (`local-hostname`).
    var hostname: String
    var image: String
    var resources: Resources
    /// When the container started (RFC 3339), if Docker said.
    var startedAt: String?
    /// The job's `container.metadata.requireTokens`.
    var requireTokens: Bool
    /// The container's MAC address (lower case) when Docker gave one: a request from `ip` is
    /// answered only if the host's neighbour entry for `ip` carries this address.
    var macAddress: String? = nil
}

/// What the metadata endpoint says about the agent itself, the same for every caller.
struct MetadataHost: Sendable, Equatable {
    var agentId: String
    var zone: String
    var region: String
    /// `instance-type`: the agent's `machineType` attribute.
    var machineType: String
    var machineGroup: String
    /// `architecture` in the identity document (`x86_64`, `arm64`).
    var architecture: String
    /// The operator configured a credentials provider: the `iam/` paths exist.
    var credentialsProvider: Bool

    init(agentId: String, zone: String = "", region: String? = nil, machineType: String = "", machineGroup: String = "",
         architecture: String = "x86_64", credentialsProvider: Bool = false) {
        self.agentId = agentId
        self.zone = zone
        self.region = region ?? Self.region(ofZone: zone)
        self.machineType = machineType
        self.machineGroup = machineGroup
        self.architecture = architecture
        self.credentialsProvider = credentialsProvider
    }

    /// EC2's convention: a zone is its region plus one letter (`us-east-1a` → `us-east-1`). A
    /// zone not of that shape is its own region.
    static func region(ofZone zone: String) -> String {
        let bytes = Array(zone.utf8)
        guard bytes.count >= 2, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[bytes.count - 1]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[bytes.count - 2]) else { return zone }
        return String(zone.dropLast())
    }
}
