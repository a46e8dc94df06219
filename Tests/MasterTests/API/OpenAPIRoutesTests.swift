import Foundation
import Testing
@testable import Master
import Model

/// Every `METHOD /path` the OpenAPI document at `path` describes, e.g. `GET /v1/jobs/{id}`.
func openAPIRoutes(at path: String) throws -> Set<String> {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw OpenAPIDocumentError("cannot read \(path)")
    }
    guard case .object(let paths)? = try JSONParser.parse([UInt8](data))["paths"] else {
        throw OpenAPIDocumentError("\(path) has no paths object")
    }
    let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
    var routes = Set<String>()
    for (route, item) in paths {
        guard case .object(let members) = item else { throw OpenAPIDocumentError("\(route) is not an object") }
        for (key, _) in members where methods.contains(key) { routes.insert("\(key.uppercased()) \(route)") }
    }
    return routes
}

struct OpenAPIDocumentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite struct OpenAPIRoutesTests {
    /// `Sources/Master/API/openapi.json`, found from this file so the test runs from any directory.
    static let documentPath: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // API/OpenAPIRoutesTests.swift under Tests/MasterTests
        return (parts + ["Sources", "Master", "API", "openapi.json"]).joined(separator: "/")
    }()

    /// Routes the master serves on purpose without documenting them in the v1 API document.
    static let undocumented: Set<String> = []

    @Test func documentListsTheV1Routes() throws {
        let routes = try openAPIRoutes(at: Self.documentPath)
        #expect(routes == [
            "POST /v1/jobs", "GET /v1/jobs", "GET /v1/jobs/{id}", "DELETE /v1/jobs/{id}", "PUT /v1/jobs/{id}/capacity",
            "GET /v1/tasks", "GET /v1/tasks/{id}", "DELETE /v1/tasks/{id}",
            "GET /v1/cluster", "GET /healthz", "GET /readyz", "GET /metrics",
        ])
    }

    @Test func documentMatchesTheRouter() throws {
        let documented = try openAPIRoutes(at: Self.documentPath)
        // The router's table, one "METHOD /path" string per route.
        let served = Set(APIHarness().router.routes.map { "\($0.method.rawValue) \($0.pattern)" }).subtracting(Self.undocumented)
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
    }
}
