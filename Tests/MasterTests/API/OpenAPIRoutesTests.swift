import Foundation
import Testing
import TestSupport
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
            "GET /v1/agents", "GET /v1/agents/{id}", "POST /v1/agents/{id}/drain",
            "POST /v1/agents/register", "POST /v1/agents/{id}/heartbeat",
            "GET /v1/cluster", "POST /v1/cluster/members", "DELETE /v1/cluster/members/{id}", "GET /v1/events", "GET /healthz", "GET /readyz", "GET /metrics",
            "GET /v1/autoscaler",
        ])
    }

    @Test func documentMatchesTheRouter() async throws {
        let documented = try openAPIRoutes(at: Self.documentPath)
        // The router's table of a real master, one "METHOD /path" string per route.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiPort = 0
        let node = try MasterNode.start(config)
        let served = Set(node.routes).subtracting(Self.undocumented)
        await node.shutdown()
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
    }
}
