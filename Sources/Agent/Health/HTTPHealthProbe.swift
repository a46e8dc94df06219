import Shared
import Synchronization

/// Sends one HTTP health probe: `GET path` to the container's address, judged by the status line
/// alone (200–399 passes, as in Kubernetes), within the check's timeout. The body is never read,
/// so a large health page costs nothing and has no size limit to hit.
enum HTTPHealthProbe {
    /// Runs `probe`; returns whether it passed and what was seen, for logs.
    static func run(_ probe: Supervisor.HealthProbe) async -> (ok: Bool, message: String) {
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = probe.timeout
        configuration.requestTimeout = probe.timeout
        configuration.idleReadTimeout = probe.timeout
        configuration.maxConnections = 1
        configuration.maxIdleConnections = 0
        configuration.maxWaitingRequests = 1
        configuration.userAgent = "fuller-health"
        let client = HTTPClient(endpoint: .tcp(host: probe.host, port: probe.port), configuration: configuration)
        defer { client.shutdown() }
        let status = StatusBox()
        do {
            var headers = HTTPHeaders()
            headers.add("Connection", "close")
            try await client.stream(HTTPRequest(method: .GET, target: probe.path, headers: headers), timeout: probe.timeout,
                                    idleTimeout: probe.timeout, onHead: { head in status.set(head.status); return false },
                                    onLine: { _ in false })
        } catch {
            if let code = status.value { return verdict(code) }
            return (false, "GET \(probe.path): \(error)")
        }
        guard let code = status.value else { return (false, "GET \(probe.path): no response") }
        return verdict(code)
    }

    static func verdict(_ status: Int) -> (ok: Bool, message: String) {
        ((200..<400).contains(status), "HTTP \(status)")
    }
}

/// The status line seen on the client's I/O thread, read by the probing task afterwards.
private final class StatusBox: Sendable {
    private let box = Mutex<Int?>(nil)
    func set(_ status: Int) { box.withLock { $0 = status } }
    var value: Int? { box.withLock { $0 } }
}
