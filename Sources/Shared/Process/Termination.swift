import Dispatch
import Glibc

/// How Fuller's processes wait to be told to stop.
public enum Termination {
    /// Blocks the calling thread until SIGINT or SIGTERM arrives. The signals are ignored for
    /// their default action first, so the process never dies before its caller has shut down.
    public static func wait() {
        let done = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        sources.forEach { $0.cancel() }
    }
}
