import JobStore
import Model
import Shared
import Synchronization

/// The change feed behind `GET /v1/events`: one NDJSON line per applied command that changed a
/// job or a task, tagged with its log index.
///
/// A ring of the most recent `retainedMax` events lets a watcher resume with `?since=INDEX`.
/// Every write to a watcher happens under this object's lock, so a watcher sees the backlog and
/// then live events in log order with no gap and no duplicate. A watcher whose connection has
/// `HTTPServer.Configuration.maxOutputBufferBytes` unsent is cut (its write returns false) and
/// dropped: a slow watcher never holds up the log.
final class EventLog: Sendable {
    private struct Watcher {
        let id: Int
        let writer: any HTTPStreamWriter
    }

    private struct State {
        var ring: [(index: UInt64, line: [UInt8])] = []
        var head = 0
        var watchers: [Watcher] = []
        var nextWatcherId = 0
        /// Events at or below this index may be missing (before start-up, or overwritten).
        var floor: UInt64
    }

    let retainedMax: Int
    let watchersMax: Int
    private let state: Mutex<State>

    init(retainedMax: Int = 10_000, watchersMax: Int = 256, lastIndex: UInt64) {
        precondition(retainedMax > 0)
        self.retainedMax = retainedMax
        self.watchersMax = watchersMax
        state = Mutex(State(floor: lastIndex))
    }

    /// Records what applying the command at `index` did. Called in log order.
    func append(index: UInt64, command: Command, result: CommandResult) {
        let line = Self.render(index: index, command: command, result: result)
        guard let line else { return }
        state.withLock { s in
            if s.ring.count < retainedMax {
                s.ring.append((index, line))
            } else {
                s.floor = s.ring[s.head].index
                s.ring[s.head] = (index, line)
                s.head = (s.head + 1) % retainedMax
            }
            s.watchers.removeAll { !$0.writer.write(line) }
        }
    }

    enum SubscribeError: Error {
        case tooOld(oldest: UInt64)
        case tooManyWatchers(Int)
    }

    /// Whether `subscribe` would accept `since` right now.
    func check(since: UInt64?) throws(SubscribeError) {
        try state.withLock { (s) throws(SubscribeError) in
            guard s.watchers.count < watchersMax else { throw .tooManyWatchers(watchersMax) }
            if let since, since < s.floor { throw .tooOld(oldest: s.floor + 1) }
        }
    }

    /// Sends every retained event after `since` (nil: none, only new ones), then live events.
    func subscribe(_ writer: any HTTPStreamWriter, since: UInt64?) throws(SubscribeError) {
        let id = try state.withLock { (s) throws(SubscribeError) -> Int in
            guard s.watchers.count < watchersMax else { throw .tooManyWatchers(watchersMax) }
            if let since {
                guard since >= s.floor else { throw .tooOld(oldest: s.floor + 1) }
                let ordered = s.ring[s.head...] + s.ring[..<s.head]
                for event in ordered where event.index > since { guard writer.write(event.line) else { return -1 } }
            }
            let id = s.nextWatcherId
            s.nextWatcherId += 1
            s.watchers.append(Watcher(id: id, writer: writer))
            return id
        }
        guard id >= 0 else { return }
        writer.onClose { [self] in state.withLock { s in s.watchers.removeAll { $0.id == id } } }
    }

    var watcherCount: Int { state.withLock { $0.watchers.count } }

    static func render(index: UInt64, command: Command, result: CommandResult) -> [UInt8]? {
        var w = JSONWriter(capacity: 192)
        w.beginObject()
        w.field("index", index)
        w.field("command", command.name)
        switch result {
        case .rejected, .master: return nil
        case .job(let job, let replayed):
            if replayed { return nil }
            w.field("kind", "job"); w.field("id", job.id); w.field("state", job.state.rawValue)
        case .task(let task):
            w.field("kind", "task"); w.field("id", task.id); w.field("jobId", task.jobId)
            w.field("state", task.state.rawValue)
            if let reason = task.reason { w.field("reason", reason.rawValue) }
        }
        w.endObject()
        var line = w.bytes
        line.append(UInt8(ascii: "\n"))
        return line
    }
}

extension Command {
    /// The command's name as the log and the event feed spell it.
    var name: String {
        switch self {
        case .createJob: "createJob"
        case .killJob: "killJob"
        case .setCapacity: "setCapacity"
        case .killTask: "killTask"
        case .updateTask: "updateTask"
        case .setMasterAddress: "setMasterAddress"
        case .forgetMaster: "forgetMaster"
        }
    }
}
