import Synchronization
import Testing
@testable import Shared

/// The router in-process: no sockets.
@Suite struct RouterTests {
    /// Calls the router and returns the response it handed to `respond` synchronously.
    static func call(_ router: Router, _ method: HTTPMethod, _ target: String) -> HTTPResponse {
        let box = Mutex<HTTPResponse?>(nil)
        router.handle(HTTPRequest(method: method, target: target)) { response in box.withLock { $0 = response } }
        return box.withLock { $0 }!
    }

    static func text(_ r: HTTPResponse) -> String { String(decoding: r.bodyBytes, as: UTF8.self) }

    static var router: Router {
        var router = Router()
        router.add(.GET, "/v1/jobs/{id}") { _, p in HTTPResponse(status: 200, body: Array("job \(p["id"]!)".utf8)) }
        router.add(.PUT, "/v1/jobs/{id}/capacity") { _, p in HTTPResponse(status: 200, body: Array("cap \(p["id"]!)".utf8)) }
        router.add(.DELETE, "/v1/jobs/{id}") { _, _ in throw APIError(.conflict, "already finished") }
        router.add(.POST, "/v1/agents/register") { _, _, respond in respond(HTTPResponse(status: 201)) }
        router.add(.POST, "/v1/agents/{id}") { _, _ in HTTPResponse(status: 202) }
        return router
    }

    @Test func matchesPatternsAndDecodesParameters() {
        #expect(Self.text(Self.call(Self.router, .GET, "/v1/jobs/j%2F1?x=1")) == "job j/1")
        #expect(Self.text(Self.call(Self.router, .PUT, "/v1/jobs/abc/capacity")) == "cap abc")
        #expect(Self.call(Self.router, .HEAD, "/v1/jobs/abc").status == 200)
        #expect(Self.call(Self.router, .POST, "/v1/agents/register").status == 201)
        #expect(Self.call(Self.router, .POST, "/v1/agents/a1").status == 202)
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() {
        let missing = Self.call(Self.router, .GET, "/v1/nothing")
        #expect(missing.status == 404 && missing.headers["Content-Type"] == "application/json")
        #expect(Self.text(missing).hasPrefix(#"{"error":{"code":"not_found","#))
        #expect(Self.call(Self.router, .GET, "/v1/jobs/").status == 404)
        let wrong = Self.call(Self.router, .POST, "/v1/jobs/abc")
        #expect(wrong.status == 405 && wrong.headers["Allow"] == "DELETE, GET, HEAD")
        #expect(Self.text(wrong).contains(#""code":"method_not_allowed""#))
    }

    /// `field` is there only when a field is at fault: OpenAPI's `Error` says it is a string.
    @Test func thrownAPIErrorBecomesTheEnvelope() {
        let r = Self.call(Self.router, .DELETE, "/v1/jobs/abc")
        #expect(r.status == 409)
        #expect(Self.text(r) == #"{"error":{"code":"conflict","message":"already finished"}}"#)
        #expect(APIError(.invalidArgument, "too big", field: "container.resources.memoryMB").json
                == #"{"error":{"code":"invalid_argument","message":"too big","field":"container.resources.memoryMB"}}"#)
        #expect(APIError(.invalidArgument, "expected an object", field: "").json
                == #"{"error":{"code":"invalid_argument","message":"expected an object"}}"#)
    }

    @Test func observerSeesEveryCompletedRequest() {
        let seen = Mutex<[String]>([])
        var router = Self.router
        router.observer = { o in seen.withLock { $0.append("\(o.method) \(o.route) \(o.status) \(o.durationSeconds >= 0)") } }
        _ = Self.call(router, .GET, "/v1/jobs/1")
        _ = Self.call(router, .GET, "/nope")
        #expect(seen.withLock { $0 } == ["GET /v1/jobs/{id} 200 true", "GET unmatched 404 true"])
    }

    @Test func listsRoutesInRegistrationOrder() {
        let routes = Self.router.routes.map { "\($0.method) \($0.pattern)" }
        #expect(routes == ["GET /v1/jobs/{id}", "PUT /v1/jobs/{id}/capacity", "DELETE /v1/jobs/{id}",
                           "POST /v1/agents/register", "POST /v1/agents/{id}"])
    }

    @Test func errorEnvelopeEscapesJSON() {
        let e = APIError(.invalidArgument, "bad \"value\"\n\u{1}", field: "container.resources.memoryMB")
        #expect(e.json == #"{"error":{"code":"invalid_argument","message":"bad \"value\"\n\u0001","field":"container.resources.memoryMB"}}"#)
        #expect(e.response.status == 400)
        #expect(APIError(HTTPParseError.headerTooLarge).status == 431)
    }
}
