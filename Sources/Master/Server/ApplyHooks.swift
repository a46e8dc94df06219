import JobStore
import Model
import Synchronization

/// What runs after each applied command (on the log's writer thread, in log order): the event
/// feed, waking agents whose assignments changed, and the scheduler. Set once at start-up; a
/// box because the replicator exists before the pieces that react to it.
final class ApplyHooks: Sendable {
    typealias Handler = @Sendable (UInt64, Command, CommandResult) -> Void

    /// The handler lives in a class box: read straight out of `Mutex<Handler?>` with
    /// `withLock { $0 }`, a closure comes back wrapped in a reabstraction thunk and is written
    /// back wrapped, so every call deepened the chain until the writer thread's stack overflowed.
    private final class Box: Sendable {
        let run: Handler
        init(_ run: @escaping Handler) { self.run = run }
    }

    private let handler = Mutex<Box?>(nil)

    func set(_ h: @escaping Handler) { handler.withLock { $0 = Box(h) } }

    var run: Handler { { [self] index, command, result in handler.withLock { $0 }?.run(index, command, result) } }

    struct Reaction: Equatable {
        var agents: Set<String> = []
        var schedule: PlacementLoop.Reason?
    }

    /// Which agents must hear about a command's effect, and whether placement may have work.
    static func reaction(to command: Command, result: CommandResult, store: StoreHandle) -> Reaction {
        var reaction = Reaction()
        switch result {
        case .rejected, .master: break
        case .task(let task):
            if let agent = task.agentId { reaction.agents.insert(agent) }
            // A finished task frees capacity and may have a replacement waiting.
            if task.isFinished { reaction.schedule = .capacity } else if task.state == .accepted { reaction.schedule = .newWork }
        case .job(let job, let replayed):
            guard !replayed else { break }
            if case .createJob = command { reaction.schedule = .newWork; break }
            reaction.schedule = .capacity   // a kill or a scale-down frees room; a scale-up adds work
            reaction.agents = store.read { s in Set(s.tasks(ofJob: job.id).compactMap { $0.isFinished ? nil : $0.agentId }) }
        }
        return reaction
    }
}
