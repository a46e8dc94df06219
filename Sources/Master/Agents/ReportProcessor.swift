import JobStore
import Model
import Synchronization

/// Turns agents' task reports into store commands: only a report that moves a task forward (or
/// tells the master something it does not know yet) becomes a command, and the same change is
/// never proposed twice while the first proposal is in flight. Agents repeat every report on
/// every heartbeat until it shows in their assignments, so nothing here needs a retry.
final class ReportProcessor: Sendable {
    private let store: StoreHandle
    private let replicator: any Replicator
    private let inFlight = Mutex<Set<String>>([])
    let inFlightMax: Int
    /// A report's message (a container's error text) is kept to this many bytes in the store:
    /// a heartbeat may carry megabytes, and every command stays far below the log's limit.
    static let messageBytesMax = 4_096

    init(store: StoreHandle, replicator: any Replicator, inFlightMax: Int = 65_536) {
        self.store = store
        self.replicator = replicator
        self.inFlightMax = inFlightMax
    }

    func process(agentId: String, reports: [TaskReport], nowMs: Int64) {
        let updates = store.read { s in reports.compactMap { Self.update(for: $0, agentId: agentId, store: s, nowMs: nowMs) } }
        for update in updates {
            let key = "\(update.taskId)/\(update.state.rawValue)/\(update.health ?? "")"
            let fresh = inFlight.withLock { set -> Bool in
                guard set.count < inFlightMax, !set.contains(key) else { return false }
                set.insert(key)
                return true
            }
            guard fresh else { continue }
            replicator.propose(.updateTask(update)) { [self] _ in inFlight.withLock { _ = $0.remove(key) } }
        }
    }

    /// `text` cut to `messageBytesMax` bytes (at a character boundary).
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > messageBytesMax else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: messageBytesMax)
        while end.samePosition(in: text.unicodeScalars) == nil { end = text.utf8.index(before: end) }
        return String(text.unicodeScalars[..<end])
    }

    /// The command a report calls for, or nil when the store already knows all it says.
    static func update(for report: TaskReport, agentId: String, store: JobStore, nowMs: Int64) -> TaskUpdate? {
        guard let task = store.task(report.taskId), task.agentId == agentId, !task.isFinished else { return nil }
        let newInfo = (report.containerId != nil && report.containerId != task.containerId) || (report.ip != nil && report.ip != task.ip)
            || (report.health != nil && report.health != task.health)
        let moves = report.state != task.state && task.state.canMove(to: report.state)
        // A task being killed stays KillInitiated until its container is gone.
        if task.state == .killInitiated && report.state != .finished { return nil }
        guard moves || (newInfo && report.state == task.state) else { return nil }
        return TaskUpdate(taskId: task.id, state: moves ? report.state : task.state, reason: report.reason,
                          exitCode: report.exitCode, message: report.message.map(truncated), containerId: report.containerId,
                          ip: report.ip, health: report.health, atMs: nowMs)
    }
}
