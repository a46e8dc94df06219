import Model
import Shared

/// Networks: where the default bridge's containers reach the host, for the metadata endpoint.
extension DockerClient {
    /// The host's address on the network named `name` (Docker's default is `bridge`, whose
    /// interface is `docker0`), chosen by `BridgeAddress`; nil when the network has no IPv4.
    func bridgeAddress(ofNetwork name: String = "bridge") async throws(DockerError) -> BridgeAddress? {
        let json = try parseJSON(try await call(.GET, "/networks/\(DockerWire.escape(name))"))
        return BridgeAddress.choose(network: json, interfaces: Interfaces.ipv4())
    }
}
