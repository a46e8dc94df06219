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

extension AgentRoutesTests {
    static func readyz(_ readiness: AgentRoutes.Readiness) -> HTTPResponse? {
        let reply = Mutex<HTTPResponse?>(nil)
        AgentRoutes.router(readiness: { readiness }).handle(HTTPRequest(method: .GET, target: "/readyz")) { r in
            reply.withLock { $0 = r }
        }
        return reply.withLock { $0 }
    }

    @Test func readyzSaysWhyItIsNotReady() {
        let down = DockerHealth(available: false, message: "docker unavailable: connection refused")
        let response = Self.readyz(.init(docker: down, master: .init(registered: true, lastError: nil, master: "http://m1:4700")))
        #expect(response?.status == 503)
        let body = String(decoding: response?.bodyBytes ?? [], as: UTF8.self)
        #expect(body == #"{"status":"unavailable","docker":{"available":false,"message":"docker unavailable: connection refused"},"master":{"registered":true,"url":"http://m1:4700"}}"#)
        let ready = Self.readyz(.init(docker: DockerHealth(available: true), master: .init(registered: true)))
        #expect(ready?.status == 200)
    }
}
