/// The reconciler's timeouts and limits (master flags; docs/reconciler.md has the table).
public struct ReconcilerConfiguration: Sendable, Equatable {
    /// A task placed on a connected agent that never reported a container.
    public var launchedTimeout: Duration = .seconds(300)
    /// A task whose container was created but never reported started.
    public var startInitiatedTimeout: Duration = .seconds(600)
    /// A task whose agent never confirmed the kill.
    public var killInitiatedTimeout: Duration = .seconds(600)
    /// Silence after which an agent's tasks become `Disconnected`. Must exceed the agents'
    /// long-poll wait (10 s), since a held heartbeat is the only one an idle agent sends.
    public var agentDisconnectedAfter: Duration = .seconds(30)
    /// Silence (from the last heartbeat) after which an agent's tasks are `lost` and replaced.
    public var agentLostAfter: Duration = .seconds(300)
    /// How long a connected agent may leave a started task out of its reports before it is
    /// `lost`; also how long a new leader waits before killing tasks its store does not know.
    public var missingGrace: Duration = .seconds(30)
    /// Store changes proposed by one pass at most; the rest wait for the next pass.
    public var commandsPerPassMax = 10_000
    /// Kills one agent is sent on the reconciler's behalf at most.
    public var killsPerAgentMax = 1_000

    public init() {}

    /// Why this configuration cannot work, or nil.
    public var problem: String? {
        let all = [launchedTimeout, startInitiatedTimeout, killInitiatedTimeout, agentDisconnectedAfter, agentLostAfter, missingGrace]
        if all.contains(where: { $0 <= .zero }) { return "every reconciler timeout must be positive" }
        if agentLostAfter <= agentDisconnectedAfter { return "the agent lost timeout must exceed the disconnected timeout" }
        if commandsPerPassMax < 1 || killsPerAgentMax < 1 { return "reconciler limits must be at least 1" }
        return nil
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
