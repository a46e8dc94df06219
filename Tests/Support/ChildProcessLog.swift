import Foundation
import Synchronization

/// The built executables next to the test bundle (`fuller-master`, `fuller-agent`).
public enum BuiltProduct {
    public static func path(_ name: String) -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        var dir = bundle.deletingLastPathComponent()
        if bundle.pathExtension != "xctest" { dir = bundle.deletingLastPathComponent() }
        return dir.appendingPathComponent(name).path
    }
}

/// A child's standard error, drained continuously: finds the port in its "serving" line and
/// keeps the last `bytesMax` bytes so a failing test can show what the child said.
public final class ChildProcessLog: Sendable {
    private let text = Mutex<[UInt8]>([])
    private let closed = Atomic<Bool>(false)
    let bytesMax: Int

    public init(_ pipe: Pipe, bytesMax: Int = 256 * 1024) {
        self.bytesMax = bytesMax
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                closed.store(true, ordering: .relaxed)
                handle.readabilityHandler = nil
                return
            }
            text.withLock { buffer in
                buffer.append(contentsOf: chunk)
                if buffer.count > bytesMax { buffer.removeFirst(buffer.count - bytesMax) }
            }
        }
    }

    public var contents: String { String(decoding: text.withLock { $0 }, as: UTF8.self) }

    /// The port of the first log line containing `marker` with an `"api":"127.0.0.1:PORT"` field.
    public func waitForPort(marker: String, after skip: Int = 0, deadline: ContinuousClock.Instant) throws -> Int {
        while ContinuousClock.now < deadline {
            var seen = 0
            for line in contents.split(separator: "\n") where line.contains(marker) {
                seen += 1
                guard seen > skip, let range = line.range(of: #""api":"127.0.0.1:"#) else { continue }
                if let port = Int(line[range.upperBound...].prefix { $0.isNumber }) { return port }
            }
            if closed.load(ordering: .relaxed) { throw TestFailure("child exited during start-up:\n\(contents)") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw TestFailure("child did not report its port in time:\n\(contents)")
    }
}
