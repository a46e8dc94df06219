import Dispatch
import Glibc
import Synchronization

/// `--exit-with-parent PID`: the agent stops (as on SIGTERM) once PID is no longer its parent,
/// so a `fuller-master dev` killed with SIGKILL does not leave its local agent running forever.
///
/// Why not `prctl(PR_SET_PDEATHSIG)`: the kernel sends that signal when the *thread* that
/// forked the child exits, and the master restarts its agent from a Dispatch worker thread,
/// which the pool retires when idle: the agent would be stopped for nothing. `getppid()` changes
/// only when the whole parent process is gone (the child is reparented), so it is polled.
enum ParentWatch {
    /// How often the parent is checked: the bound on how long the agent outlives its master,
    /// plus its own shutdown.
    static let interval: Duration = .milliseconds(100)

    /// Whether `parent` is still this process's parent (checked once at start: a parent that
    /// died before the watch began is seen here, closing the race).
    static func isParent(_ parent: pid_t) -> Bool { getppid() == parent }

    /// Sends this process SIGTERM once `parent` is gone. The timer must be kept alive.
    static func start(parent: pid_t, onExit: @escaping @Sendable () -> Void = { kill(getpid(), SIGTERM) }) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "fuller.parent-watch"))
        let milliseconds = Int(interval.wholeMilliseconds)
        timer.schedule(deadline: .now() + .milliseconds(milliseconds), repeating: .milliseconds(milliseconds))
        let fired = Atomic(false)
        timer.setEventHandler {
            guard getppid() != parent, !fired.exchange(true, ordering: .relaxed) else { return }
            onExit()
        }
        timer.resume()
        return timer
    }
}
