import Foundation
import Glibc
import TestSupport

/// Runs commands inside a container with the `docker` command line (`docker exec`), and speaks
/// HTTP/1.0 from there with busybox `nc`, so a request's source address is the container's own.
struct ContainerShell: Sendable {
    let containerId: String
    var socketPath = DockerTestEnvironment.socketPath

    /// The metadata endpoint as the container's `FULLER_METADATA_URL` names it (port 80 when it
    /// has none), in shell variables `h` and `p`.
    static let endpointFromEnvironment = #"u=${FULLER_METADATA_URL#http://}; case $u in *:*) h=${u%:*}; p=${u##*:};; *) h=$u; p=80;; esac"#

    /// `docker exec CONTAINER sh -c script`: its standard output, or a thrown failure. The
    /// timeout is generous: a daemon busy with many tests' containers can take seconds per exec.
    func run(_ script: String, timeout: Duration = .seconds(60)) throws -> String {
        try exec(["sh", "-c", script], timeout: timeout)
    }

    /// `docker exec CONTAINER ARGUMENTS...`: its standard output and error, or a thrown failure.
    func exec(_ arguments: [String], timeout: Duration = .seconds(60)) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.docker)
        process.arguments = ["-H", "unix://\(socketPath)", "exec", containerId] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let timer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: timer)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let how = process.terminationReason == .uncaughtSignal ? "killed by signal" : "status"
            throw TestFailure("docker exec \(arguments.joined(separator: " ").prefix(200)): \(how) \(process.terminationStatus): \(text)")
        }
        return text
    }

    /// One HTTP/1.0 request from inside the container to `host port` (shell words; by default
    /// the container's `FULLER_METADATA_URL`).
    func http(_ method: String, _ path: String, headers: [String] = [], host: String = "$h", port: String = "$p") throws -> HTTPAnswer {
        precondition(!(path + headers.joined()).contains("'"))
        let head = ([method + " " + path + " HTTP/1.0"] + headers).map { $0 + #"\r\n"# }.joined() + #"\r\n"#
        return HTTPAnswer(try run("\(Self.endpointFromEnvironment); printf '\(head)' | nc \(host) \(port)"))
    }

    static var docker: String {
        ["/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "docker"
    }
}

/// A raw HTTP response as `nc` printed it.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    var status = 0
    var headers: [String: String] = [:]
    var body = ""
    let raw: String

    init(_ raw: String) {
        self.raw = raw
        let parts = raw.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        let statusLine = head[0].split(separator: " ")
        status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        body = parts.dropFirst().joined(separator: "\r\n\r\n")
    }

    var description: String { raw.count > 600 ? String(raw.prefix(600)) + "…" : raw }
}
