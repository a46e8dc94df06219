/// What the autoscaler asks its shell to do. Drains are done in the master (the agent
/// registry); scale-ups and scale-downs go to the provider. Every action's outcome comes back
/// through `Autoscaler.finished`, under its `id`.
public struct AutoscalerAction: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Ask the provider for `count` more agents (the group should then have `desiredSize`).
        case scaleUp
        /// Stop placing tasks on `agentIds` (one agent) so it can be given back once still idle.
        case drain
        /// Take a drained agent back into service: work arrived before it was terminated.
        case undrain
        /// Ask the provider to terminate `agentIds`: drained, settled and still idle.
        case scaleDown
    }

    public var id: UInt64
    public var group: String
    public var kind: Kind
    public var count: Int
    public var agentIds: [String]
    /// The group's size once this action is done (agents registered or expected).
    public var desiredSize: Int
    /// Why, in a sentence for operators.
    public var reason: String
    public var atMs: Int64

    public init(id: UInt64, group: String, kind: Kind, count: Int, agentIds: [String] = [], desiredSize: Int,
                reason: String, atMs: Int64) {
        self.id = id
        self.group = group
        self.kind = kind
        self.count = count
        self.agentIds = agentIds
        self.desiredSize = desiredSize
        self.reason = reason
        self.atMs = atMs
    }
}

/// How an action ended, as the shell reports it.
public enum ActionOutcome: Sendable, Equatable {
    /// Done. For a scale-up, `agentIds` are the ids the provider says the new agents will
    /// register with, when it knows them (empty otherwise).
    case succeeded(agentIds: [String], message: String?, attempts: Int)
    case failed(message: String, attempts: Int)
}

/// An action with its outcome so far, for `GET /v1/autoscaler`.
public struct ActionRecord: Sendable, Equatable {
    public enum Result: String, Sendable, CaseIterable { case pending, succeeded, failed }
    public var action: AutoscalerAction
    public var result: Result
    public var message: String?
    public var attempts: Int
    public var finishedAtMs: Int64?
    /// Agent ids the provider returned (scale-up).
    public var agentIds: [String]
}
