import Dispatch
@testable import Agent
import Model
import Shared
import Synchronization

/// The master's side of the agent protocol on a live server (port 0): records registrations and
/// heartbeats, answers with `answer`, holds a long poll briefly when nothing changed, and can
/// forget the agent (as a restarted master would) so the next heartbeat gets a 404.
final class FakeMaster: Sendable {
    struct State {
        var registrations: [AgentRegistration] = []
        var heartbeats: [HeartbeatRequest] = []
        var known = false
        var answer = HeartbeatResponse(assignmentsVersion: 1, assignments: [], kills: [], intervalMilliseconds: 10_000)
    }
    final class Box: Sendable { let state = Mutex(State()) }
    let box = Box()
    let server: HTTPServer

    init() throws {
        let box = self.box
        var router = Router()
        router.add(.POST, "/v1/agents/register") { request, _ in
            let registration = try AgentRegistration(json: JSONParser.parse(request.body))
            box.state.withLock { $0.registrations.append(registration); $0.known = true }
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array("{}".utf8))
        }
        router.add(.POST, "/v1/agents/{id}/heartbeat") { request, _, respond in
            guard let heartbeat = try? HeartbeatRequest(json: JSONParser.parse(request.body)) else {
                return respond(APIError(.invalidArgument, "bad heartbeat").response)
            }
            let (known, answer) = box.state.withLock { state in
                if state.known { state.heartbeats.append(heartbeat) }
                return (state.known, state.answer)
            }
            guard known else { return respond(APIError(.notFound, "unknown agent").response) }
            let reply = HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: answer.encoded())
            if heartbeat.waitMilliseconds > 0 && heartbeat.assignmentsVersion == answer.assignmentsVersion {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { respond(reply) }
            } else {
                respond(reply)
            }
        }
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        server = HTTPServer(configuration: configuration, handler: router)
        try server.start()
    }

    var url: String { "http://127.0.0.1:\(server.port)" }
    var heartbeats: [HeartbeatRequest] { box.state.withLock { $0.heartbeats } }
    var registrations: Int { box.state.withLock { $0.registrations.count } }

    func assign(_ response: HeartbeatResponse) { box.state.withLock { $0.answer = response } }
    func forgetAgent() { box.state.withLock { $0.known = false } }

    func stop() async { await server.shutdown(grace: .milliseconds(100)) }
}
