import Testing
@testable import Agent
@testable import Shared
import Synchronization

@Suite struct AgentRoutesTests {
    @Test func healthzAnswersOK() {
        let reply = Mutex<HTTPResponse?>(nil)
        AgentRoutes.router().handle(HTTPRequest(method: .GET, target: "/healthz")) { r in reply.withLock { $0 = r } }
        let response = reply.withLock { $0 }
        #expect(response?.status == 200)
        #expect(String(decoding: response?.bodyBytes ?? [], as: UTF8.self) == #"{"status":"ok"}"#)
    }

    @Test func otherPathsAre404() {
        let reply = Mutex<HTTPResponse?>(nil)
        AgentRoutes.router().handle(HTTPRequest(method: .GET, target: "/v1/nothing")) { r in reply.withLock { $0 = r } }
        #expect(reply.withLock { $0 }?.status == 404)
    }
}
