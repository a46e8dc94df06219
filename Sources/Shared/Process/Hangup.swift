#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// SIGHUP as "reload your configuration": each registered action runs on every SIGHUP the
/// process receives (and SIGHUP no longer ends the process).
///
/// A signal handler writes one byte to a pipe and a dedicated thread runs the actions. Not a
/// dispatch signal source: on Linux those read a signalfd, which sees a signal only while every
/// thread blocks it, and whether that holds depends on which thread installed the source.
public enum Hangup {
    private static let actions = Mutex<[@Sendable () -> Void]>([])
    /// Written from the signal handler, so a plain global (statically initialised, no lazy once).
    nonisolated(unsafe) private static var writeDescriptor: Int32 = -1
    private static let installed = Mutex(false)

    /// Runs `action` on every SIGHUP from now on.
    public static func onSignal(_ action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.append(action) }
        installed.withLock { done in
            guard !done else { return }
            done = true
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return }
            _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            writeDescriptor = fds[1]
            let reader = fds[0]
            let thread = Thread { watch(reader) }
            thread.name = "fuller-sighup"
            thread.start()
            signal(SIGHUP) { _ in
                var byte: UInt8 = 1
                _ = write(Hangup.writeDescriptor, &byte, 1)   // async-signal-safe; a full pipe drops it
            }
        }
    }

    /// The watcher thread unblocks SIGHUP for itself, so the signal always has a thread to land
    /// on: a process may start with every signal blocked (children inherit the spawning thread's
    /// mask, and Dispatch's worker threads block all of them).
    private static func watch(_ descriptor: Int32) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            // Several signals while one reload ran collapse into one more reload.
            for action in actions.withLock({ $0 }) { action() }
        }
    }
}
#endif
