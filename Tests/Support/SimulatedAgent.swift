import Foundation
import Model
import Shared

/// An agent without Docker: it speaks the agent protocol and reports whatever the test tells
/// it. For protocol and scheduling tests; the real executor has its own tests against Docker.
public final class SimulatedAgent: Sendable {
    public let id: String
    public let client: HTTPClient
    public let resources: Resources
    public let attributes: [String: String]

    public init(id: String, master: String, resources: Resources = Resources(cpu: 4, memoryMB: 8_192),
         attributes: [String: String] = [:]) throws {
        self.id = id
        self.client = try HTTPClient(url: master)
        self.resources = resources
        self.attributes = attributes
    }

    public func register() async throws {
        var w = JSONWriter()
        AgentRegistration(id: id, hostname: "\(id).test", address: "127.0.0.1:0", attributes: attributes, resources: resources)
            .write(to: &w)
        let r = try await client.send(.POST, "/v1/agents/register", body: w.bytes)
        guard r.status == 200 else { throw TestFailure("register: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))") }
    }

    /// One heartbeat; returns the status and, for 200, the answer.
    public func heartbeat(version: UInt64 = 0, reports: [TaskReport] = [], waitMs: Int = 0, healthy: Bool = true,
                   sequence: UInt64 = 1) async throws -> (status: Int, response: HeartbeatResponse?) {
        let request = HeartbeatRequest(sequence: sequence, assignmentsVersion: version, healthy: healthy, reports: reports,
                                       waitMilliseconds: waitMs)
        let r = try await client.send(.POST, "/v1/agents/\(id)/heartbeat", body: request.encoded(), timeout: .seconds(40))
        guard r.status == 200 else { return (r.status, nil) }
        return (200, try HeartbeatResponse(json: JSONParser.parse(r.bodyBytes)))
    }

    public func shutdown() { client.shutdown() }
}
