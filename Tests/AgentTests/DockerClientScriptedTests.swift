@testable import Agent
import Dispatch
import Shared
import Testing

/// `DockerClient` against a scripted daemon (Fuller's HTTP server on a loopback port), for what a
/// real engine here will not do on demand: a pull that fails inside its progress stream, a daemon
/// too old, replies that are not JSON.
@Suite struct DockerClientScriptedTests {
    /// Answers `/version` with `apiVersion`, and each other path from `replies` (404 otherwise).
    struct ScriptedDaemon: HTTPHandler {
        var apiVersion = "1.41"
        var replies: [String: @Sendable () -> HTTPResponse] = [:]

        func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
            if request.path == "/version" {
                let body = #"{"Version":"scripted","ApiVersion":"\#(apiVersion)","MinAPIVersion":"1.12"}"#
                respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(body.utf8)))
            } else if let reply = replies["\(request.method) \(request.path)"] {
                respond(reply())
            } else {
                respond(HTTPResponse(status: 404, body: Array("404 page not found\n".utf8)))
            }
        }
    }

    /// A streamed 200 whose body is `lines`, each ending in a newline.
    static func stream(_ lines: [String]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], stream: HTTPStreamSource { writer in
            DispatchQueue.global().async {
                for line in lines { writer.write(Array((line + "\n").utf8)) }
                writer.finish()
            }
        })
    }

    func withDaemon(_ daemon: ScriptedDaemon, _ body: (DockerClient) async throws -> Void) async throws {
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), handler: daemon)
        try server.start()
        let docker = DockerClient(endpoint: .tcp(host: "127.0.0.1", port: server.port))
        do {
            try await body(docker)
        } catch {
            await server.shutdown(grace: .seconds(1))
            throw error
        }
        await server.shutdown(grace: .seconds(1))
    }

    @Test func pullFailingInsideTheStreamThrowsItsMessage() async throws {
        var daemon = ScriptedDaemon()
        daemon.replies["POST /v1.41/images/create"] = {
            Self.stream([#"{"status":"Pulling from team/app","id":"1"}"#,
                         #"{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"a"}"#,
                         #"{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}"#])
        }
        daemon.replies["POST /v1.42/images/create"] = { Self.stream([#"{"status":"Downloaded"}"#]) }
        try await withDaemon(daemon) { docker in
            await #expect(throws: DockerError.serverError(status: 200, message: "unexpected EOF")) {
                try await docker.pullImage("team/app:1")
            }
        }
        daemon.apiVersion = "1.42"
        try await withDaemon(daemon) { docker in
            try await docker.pullImage("team/app:1")
            #expect(docker.apiVersion == DockerAPIVersion(major: 1, minor: 42))
        }
    }

    @Test func aDaemonOlderThan141IsRefused() async throws {
        var daemon = ScriptedDaemon()
        daemon.apiVersion = "1.40"
        try await withDaemon(daemon) { docker in
            let error = await dockerError { _ = try await docker.inspectContainer("x") }
            guard case .daemonUnavailable(let message)? = error else { Issue.record("unexpected \(String(describing: error))"); return }
            #expect(message.contains("1.40") && message.contains("1.41"))
            #expect(docker.apiVersion == nil)
        }
    }

    @Test func aNewerDaemonIsSpokenToAtFullersMaximum() async throws {
        var daemon = ScriptedDaemon()
        daemon.apiVersion = "1.47"
        daemon.replies["GET /v1.43/containers/json"] = { HTTPResponse(status: 200, body: Array("[]".utf8)) }
        try await withDaemon(daemon) { docker in
            let containers = try await docker.listContainers(labels: [:], all: true)
            #expect(containers.isEmpty)
            #expect(docker.apiVersion == DockerClient.maximumAPIVersion)
        }
    }

    @Test func plainTextErrorsAndBadJSONStillCarryAMessage() async throws {
        var daemon = ScriptedDaemon()
        daemon.replies["GET /v1.41/containers/x/json"] = { HTTPResponse(status: 200, body: Array("<html>".utf8)) }
        daemon.replies["POST /v1.41/containers/x/start"] = {
            HTTPResponse(status: 500, body: Array(#"{"message":"OCI runtime create failed"}"#.utf8))
        }
        try await withDaemon(daemon) { docker in
            let unreadable = await dockerError { _ = try await docker.inspectContainer("x") }
            guard case .serverError(200, let message)? = unreadable else { Issue.record("unexpected \(String(describing: unreadable))"); return }
            #expect(message.contains("unreadable reply"))
            await #expect(throws: DockerError.serverError(status: 500, message: "OCI runtime create failed")) {
                try await docker.startContainer("x")
            }
            await #expect(throws: DockerError.notFound("404 page not found")) { try await docker.startContainer("y") }
        }
    }

    @Test func waitReportsTheDaemonsError() async throws {
        var daemon = ScriptedDaemon()
        daemon.replies["POST /v1.41/containers/x/wait"] = { Self.stream([#"{"StatusCode":0,"Error":{"Message":"removed"}}"#]) }
        daemon.replies["POST /v1.41/containers/y/wait"] = { Self.stream([]) }
        try await withDaemon(daemon) { docker in
            await #expect(throws: DockerError.serverError(status: 200, message: "removed")) {
                _ = try await docker.waitContainer("x")
            }
            let cut = await dockerError { _ = try await docker.waitContainer("y") }
            guard case .daemonUnavailable? = cut else { Issue.record("unexpected \(String(describing: cut))"); return }
        }
    }
}
