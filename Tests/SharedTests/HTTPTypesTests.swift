import Testing
@testable import Shared

@Suite struct HTTPTypesTests {
    @Test func splitsTargetIntoDecodedPathAndQuery() {
        let r = HTTPRequest(method: .GET, target: "/v1/jobs/a%20b?label=team%3Dx&limit=10&flag")
        #expect(r.path == "/v1/jobs/a b")
        #expect(r.queryValue("label") == "team=x")
        #expect(r.queryValue("limit") == "10")
        #expect(r.queryValue("flag") == "")
    }

    @Test func headerNamesAreCaseInsensitive() {
        var h: HTTPHeaders = ["Content-Type": "application/json"]
        #expect(h["content-type"] == "application/json")
        h.set("CONTENT-TYPE", "text/plain")
        #expect(h.count == 1 && h["Content-Type"] == "text/plain")
    }

    @Test func malformedPercentEscapeIsRejected() {
        #expect(HTTPRequest.percentDecode("%zz") == nil)
        #expect(HTTPRequest.percentDecode("%4") == nil)
    }
}
