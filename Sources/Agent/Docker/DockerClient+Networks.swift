import Model
import Shared

/// Networks: the default bridge's gateway, where the metadata endpoint listens.
extension DockerClient {
    /// The IPv4 gateway of the network named `name` (Docker's default is `bridge`, whose
    /// gateway is the host's `docker0` address), or nil when it has none.
    func gateway(ofNetwork name: String = "bridge") async throws(DockerError) -> String? {
        let json = try parseJSON(try await call(.GET, "/networks/\(DockerWire.escape(name))"))
        guard case .array(let configs)? = json["IPAM"]?["Config"] else { return nil }
        return configs.compactMap { $0["Gateway"]?.stringValue }.first { !$0.isEmpty && !$0.contains(":") }
    }
}
