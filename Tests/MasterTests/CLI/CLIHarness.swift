@testable import Master
import Model
import Shared

/// A scripted master: answers by `METHOD target`, records every request, and can fail an
/// exchange the way a dead or flaky server would.
final class FakeMaster: CLITransport {
    struct Request {
        var server: String
        var method: HTTPMethod
        var target: String
        var headers: HTTPHeaders
        var body: String
    }

    enum Reply {
        case json(Int, String, headers: HTTPHeaders = HTTPHeaders())
        case failure(CLIFailure)
    }

    var requests: [Request] = []
    /// Replies per `METHOD target`, used in order; the last one repeats.
    var replies: [String: [Reply]] = [:]
    var server = CLI.defaultServer

    func on(_ route: String, _ replies: Reply...) { self.replies[route, default: []] += replies }

    func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders,
              body: [UInt8]) throws(CLIFailure) -> HTTPResponse {
        requests.append(Request(server: server, method: method, target: target, headers: headers,
                                body: String(decoding: body, as: UTF8.self)))
        let route = "\(method) \(target)"
        guard var queue = replies[route], let reply = queue.first else {
            return HTTPResponse(status: 404, body: Array(#"{"error":{"code":"not_found","message":"no route \#(route)"}}"#.utf8))
        }
        if queue.count > 1 { queue.removeFirst(); replies[route] = queue }
        switch reply {
        case .json(let status, let body, let headers):
            return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
        case .failure(let failure):
            throw failure
        }
    }
}

/// The CLI's world for one test: captured output, a fake clock that only moves when the CLI
/// sleeps, in-memory files and the fake master.
final class CLIHarness {
    var output = ""
    var errors = ""
    var elapsed = Duration.zero
    var sleeps: [Duration] = []
    var files: [String: String] = [:]
    var standardInput = ""
    var connections: [String] = []
    var keys = 0
    let master = FakeMaster()
    static let now = Timestamp(rfc3339: "2026-11-25T16:30:00.000Z")!

    var io: CLIIO {
        CLIIO(
            writeOutput: { self.output += $0 },
            writeError: { self.errors += $0 },
            readInput: { (path, limit) throws(CLIFailure) in
                let text = path == "-" ? self.standardInput : self.files[path]
                guard let text else { throw .usage("cannot open \(path): No such file or directory") }
                guard text.utf8.count <= limit else { throw .usage("\(path) is larger than \(limit) bytes") }
                return Array(text.utf8)
            },
            connect: { (server) throws(CLIFailure) in
                self.connections.append(server)
                self.master.server = server
                return self.master
            },
            sleep: { self.sleeps.append($0); self.elapsed += $0 },
            monotonicNow: { self.elapsed },
            wallClockNow: { Self.now },
            newIdempotencyKey: { self.keys += 1; return "key-\(self.keys)" })
    }

    /// Runs `fuller-master <line>`; words split on spaces.
    func run(_ line: String, environment: [String: String] = [:]) -> Int32 {
        runCLI(line.split(separator: " ").map(String.init), environment: environment, io: io)
    }

    var targets: [String] { master.requests.map { "\($0.method) \($0.target)" } }
}

/// A job as the v1 API renders it, trimmed to the fields the CLI reads.
func jobJSON(_ id: String, name: String = "web", type: String = "service", state: String = "Accepted",
             createdAt: String = "2026-11-25T16:25:00.000Z", counts: String = #"{"Started":2,"Accepted":1}"#) -> String {
    let shape = type == "batch" ? #""batch":{"size":3}"# : #""service":{"capacity":{"min":1,"desired":3,"max":5}}"#
    return #"{"id":"\#(id)","state":"\#(state)","createdAt":"\#(createdAt)","updatedAt":"\#(createdAt)","#
        + #""spec":{"name":"\#(name)","owner":"team-a","type":"\#(type)","capacityGroup":"default","tier":"flex","#
        + #""labels":{"app":"web","env":"prod"},"container":{"image":"nginx:1.27","resources":{"cpu":0.5,"memoryMB":256}},"#
        + shape + #"},"taskCounts":\#(counts)}"#
}

func taskJSON(_ id: String, job: String, index: Int, state: String, extra: String = "") -> String {
    #"{"id":"\#(id)","jobId":"\#(job)","index":\#(index),"attempt":0,"state":"\#(state)"\#(extra),"#
        + #""createdAt":"2026-11-25T14:30:00.000Z","updatedAt":"2026-11-25T14:30:00.000Z","history":[]}"#
}
