import Foundation
import Glibc
import Synchronization
import Shared

/// A real `fuller-master` process for tests: started on a free loopback port, killed for real.
public final class MasterProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object, one thread.
    public let process = Process()
    public let port: Int
    public let dataDirectory: String
    private let stderrPipe = Pipe()

    /// The built `fuller-master` next to the test bundle.
    public static var binary: String { BuiltProduct.path("fuller-master") }

    /// `command`: `serve`, or `dev` (a master and its local agent).
    public init(dataDirectory: String, extraArguments: [String] = [], command: String = "serve",
                startupTimeout: Duration = .seconds(20)) throws {
        self.dataDirectory = dataDirectory
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [command, "--data-dir", dataDirectory, "--api", "127.0.0.1:0"] + extraArguments
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        port = try Self.readPort(stderrPipe.fileHandleForReading, deadline: .now + startupTimeout)
        // Keep draining stderr so the child never blocks on a full pipe.
        stderrPipe.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// Reads log lines until the "master serving" line and takes the port from its `api` field.
    private static func readPort(_ handle: FileHandle, deadline: ContinuousClock.Instant) throws -> Int {
        var buffer = Data()
        while ContinuousClock.now < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { throw TestFailure("master exited during start-up: \(String(decoding: buffer, as: UTF8.self))") }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.contains("master serving") {
                if let range = line.range(of: #""api":"127.0.0.1:"#) {
                    let digits = line[range.upperBound...].prefix { $0.isNumber }
                    if let port = Int(digits) { return port }
                }
            }
        }
        throw TestFailure("master did not report its port in time")
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func kill(_ signal: Int32 = SIGKILL) {
        Glibc.kill(process.processIdentifier, signal)
        process.waitUntilExit()
        stderrPipe.fileHandleForReading.readabilityHandler = nil
    }

    deinit { if process.isRunning { kill() } }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String
    public init() throws {
        path = NSTemporaryDirectory() + "fuller-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
