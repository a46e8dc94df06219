import Synchronization
import Testing
@testable import JobStore
@testable import Master
@testable import Model

@Suite struct ApplyHooksTests {
    /// Every applied command runs the hook once. The handler used to come back from its lock
    /// wrapped in one more thunk per call: after a few thousand commands the log's writer thread
    /// overflowed its stack and the master crashed.
    @Test func runningTheHookManyTimesCostsNoDepth() {
        let hooks = ApplyHooks()
        let count = Atomic<Int>(0)
        hooks.set { _, _, _ in count.add(1, ordering: .relaxed) }
        let run = hooks.run
        for i in 0..<200_000 {
            run(UInt64(i + 1), .killJob(jobId: "j", atMs: 0), .rejected(.notFound(kind: "job", id: "j")))
        }
        #expect(count.load(ordering: .relaxed) == 200_000)
    }
}
