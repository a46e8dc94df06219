import Reconciler
import Shared

/// The reconciler's flags on `serve` and `dev` (docs/reconciler.md).
enum ReconcileFlags {
    static let flags: [Flag] = [
        Flag("task-launched-timeout", .duration, default: .duration(.seconds(300)),
             help: "Kill a task whose agent has not created its container after this long (stuckInState)."),
        Flag("task-start-initiated-timeout", .duration, default: .duration(.seconds(600)),
             help: "Kill a task whose container has not started after this long (stuckInState)."),
        Flag("task-kill-initiated-timeout", .duration, default: .duration(.seconds(600)),
             help: "Finish a task whose agent has not confirmed its kill after this long."),
        Flag("agent-disconnected-after", .duration, default: .duration(.seconds(30)),
             help: "Mark an agent's tasks Disconnected after this much silence (keep above the agents' 10 s long poll)."),
        Flag("agent-lost-after", .duration, default: .duration(.seconds(300)),
             help: "Finish an agent's tasks as lost, and replace them, after this much silence."),
        Flag("task-missing-grace", .duration, default: .duration(.seconds(30)),
             help: "Finish a task as lost once its connected agent has not reported it for this long."),
        Flag("reconcile-interval", .duration, default: .duration(.seconds(2)), help: "Time between reconciler passes."),
        Flag("agent-long-poll-max", .duration, default: .duration(.seconds(30)),
             help: "Hold an agent's heartbeat at most this long when nothing changes."),
    ]

    static func apply(_ args: ParsedArguments, to config: inout MasterNode.Configuration) throws(UsageError) {
        var r = ReconcilerConfiguration()
        r.launchedTimeout = args.duration("task-launched-timeout") ?? r.launchedTimeout
        r.startInitiatedTimeout = args.duration("task-start-initiated-timeout") ?? r.startInitiatedTimeout
        r.killInitiatedTimeout = args.duration("task-kill-initiated-timeout") ?? r.killInitiatedTimeout
        r.agentDisconnectedAfter = args.duration("agent-disconnected-after") ?? r.agentDisconnectedAfter
        r.agentLostAfter = args.duration("agent-lost-after") ?? r.agentLostAfter
        r.missingGrace = args.duration("task-missing-grace") ?? r.missingGrace
        if let problem = r.problem { throw UsageError(message: problem) }
        config.reconciler = r
        config.reconcileInterval = max(args.duration("reconcile-interval") ?? .seconds(2), .milliseconds(10))
        config.agentLongPollMax = max(args.duration("agent-long-poll-max") ?? .seconds(30), .milliseconds(100))
    }
}
