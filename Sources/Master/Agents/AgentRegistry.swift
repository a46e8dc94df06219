import Dispatch
import Model
import Shared
import Synchronization

/// The agents the leader knows, as soft state: an agent registers on start and again whenever
/// a master answers 404 (e.g. a new leader), so nothing here needs to survive a restart.
///
/// Long polls: a heartbeat whose `assignmentsVersion` is current is held (at most its
/// `waitMilliseconds`, capped by `longPollMax`) until the agent's assignments change
/// (`notify`), a newer heartbeat from the same agent arrives, or time runs out. Responses are
/// built and sent outside the lock; the only lock order is registry → store.
final class AgentRegistry: Sendable {
    struct Entry: Sendable {
        var registration: AgentRegistration
        var registeredAtMs: Int64
        var lastHeartbeatMs: Int64
        var healthy = true
        var message: String?
        var drain = false
        /// Bumped whenever this agent's assignments or kills may have changed.
        var version: UInt64
        var waiter: Waiter?
    }

    struct Waiter: Sendable {
        let id: UInt64
        let respond: @Sendable (HTTPResponse) -> Void
    }

    private struct State {
        var agents: [String: Entry] = [:]
        var nextWaiterId: UInt64 = 1
        var versionBase: UInt64
        /// Agents given back by the autoscaler, refused until the time given (one shutting
        /// down may heartbeat once more, get 404 and try to register again).
        var retired: [String: Int64] = [:]
    }

    private let state: Mutex<State>
    let agentsMax: Int
    let longPollMaxMilliseconds: Int
    let heartbeatIntervalMilliseconds: Int
    /// Builds the answer for an agent from the store (assignments, kills).
    private let buildResponse: @Sendable (_ agentId: String, _ version: UInt64, _ drain: Bool) -> HeartbeatResponse

    init(agentsMax: Int = 10_000, longPollMaxMilliseconds: Int = 30_000, heartbeatIntervalMilliseconds: Int = 5_000,
         versionBase: UInt64,
         buildResponse: @escaping @Sendable (_ agentId: String, _ version: UInt64, _ drain: Bool) -> HeartbeatResponse) {
        self.agentsMax = agentsMax
        self.longPollMaxMilliseconds = longPollMaxMilliseconds
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.buildResponse = buildResponse
        // Versions start from a per-process base so an agent's version from an earlier master
        // never matches by accident and every agent gets a full answer after a failover.
        state = Mutex(State(versionBase: versionBase))
    }

    enum RegisterError: Error { case full(Int), retired(String) }

    /// Adds or refreshes an agent. Returns true for an agent not seen before.
    @discardableResult
    func register(_ registration: AgentRegistration, nowMs: Int64) throws(RegisterError) -> Bool {
        let (isNew, stale) = try state.withLock { (s) throws(RegisterError) -> (Bool, Waiter?) in
            if let until = s.retired[registration.id] {
                guard until <= nowMs else { throw .retired(registration.id) }
                s.retired[registration.id] = nil
            }
            if var entry = s.agents[registration.id] {
                let waiter = entry.waiter
                entry.registration = registration
                entry.lastHeartbeatMs = nowMs
                entry.version += 1
                entry.waiter = nil
                s.agents[registration.id] = entry
                return (false, waiter)
            }
            guard s.agents.count < agentsMax else { throw .full(agentsMax) }
            s.agents[registration.id] = Entry(registration: registration, registeredAtMs: nowMs, lastHeartbeatMs: nowMs,
                                              version: s.versionBase)
            return (true, nil)
        }
        if let stale { flush(registration.id, stale) }
        return isNew
    }

    /// Records a heartbeat and answers it now or later. Returns false for an unknown agent.
    func heartbeat(_ agentId: String, _ request: HeartbeatRequest, nowMs: Int64,
                   respond: @escaping @Sendable (HTTPResponse) -> Void) -> Bool {
        enum Outcome { case unknown, now(Waiter?), held(UInt64, Waiter?) }
        let outcome = state.withLock { s -> Outcome in
            guard var entry = s.agents[agentId] else { return .unknown }
            let previous = entry.waiter
            entry.waiter = nil
            entry.lastHeartbeatMs = nowMs
            entry.healthy = request.healthy
            entry.message = request.message
            if request.assignmentsVersion != entry.version || request.waitMilliseconds <= 0 {
                s.agents[agentId] = entry
                return .now(previous)
            }
            let id = s.nextWaiterId
            s.nextWaiterId += 1
            entry.waiter = Waiter(id: id, respond: respond)
            s.agents[agentId] = entry
            return .held(id, previous)
        }
        switch outcome {
        case .unknown: return false
        case .now(let previous):
            if let previous { flush(agentId, previous) }
            flush(agentId, Waiter(id: 0, respond: respond))
        case .held(let id, let previous):
            if let previous { flush(agentId, previous) }
            let wait = min(request.waitMilliseconds, longPollMaxMilliseconds)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(wait)) { [self] in expire(agentId, waiterId: id) }
        }
        return true
    }

    /// The assignments of these agents may have changed: bump their versions, answer held polls.
    func notify<S: Sequence>(_ agentIds: S) where S.Element == String {
        var flushes: [(String, Waiter)] = []
        state.withLock { s in
            for id in agentIds {
                guard var entry = s.agents[id] else { continue }
                entry.version += 1
                if let waiter = entry.waiter { flushes.append((id, waiter)) }
                entry.waiter = nil
                s.agents[id] = entry
            }
        }
        for (id, waiter) in flushes { flush(id, waiter) }
    }

    func setDrain(_ agentId: String, _ drain: Bool) -> Bool {
        let found = state.withLock { s -> Bool in
            guard s.agents[agentId] != nil else { return false }
            s.agents[agentId]!.drain = drain
            return true
        }
        if found { notify([agentId]) }
        return found
    }

    /// Forgets agents the autoscaler terminated and refuses their registrations until `untilMs`.
    /// A held heartbeat of one is answered 404.
    func retire(_ agentIds: [String], untilMs: Int64, nowMs: Int64) {
        let held = state.withLock { s -> [(String, Waiter)] in
            s.retired = s.retired.filter { $0.value > nowMs }
            var held: [(String, Waiter)] = []
            for id in agentIds {
                if let waiter = s.agents.removeValue(forKey: id)?.waiter { held.append((id, waiter)) }
                if s.retired.count < agentsMax { s.retired[id] = untilMs }
            }
            return held
        }
        for (id, waiter) in held { flush(id, waiter) }
    }

    /// Answers every held heartbeat now (the master is stopping), so no long poll keeps the
    /// server's graceful shutdown waiting for its whole grace period.
    func answerAllHeld() {
        let held = state.withLock { s -> [(String, Waiter)] in
            var held: [(String, Waiter)] = []
            for (id, entry) in s.agents {
                guard let waiter = entry.waiter else { continue }
                held.append((id, waiter))
                s.agents[id]!.waiter = nil
            }
            return held
        }
        for (id, waiter) in held { flush(id, waiter) }
    }

    func entries() -> [Entry] { state.withLock { Array($0.agents.values) }.sorted { $0.registration.id < $1.registration.id } }
    func entry(_ id: String) -> Entry? { state.withLock { $0.agents[id] } }

    private func expire(_ agentId: String, waiterId: UInt64) {
        let waiter = state.withLock { s -> Waiter? in
            guard let w = s.agents[agentId]?.waiter, w.id == waiterId else { return nil }
            s.agents[agentId]!.waiter = nil
            return w
        }
        if let waiter { flush(agentId, waiter) }
    }

    /// Answers with the agent's current assignments; reads the version and drain flag first.
    private func flush(_ agentId: String, _ waiter: Waiter) {
        guard let (version, drain) = state.withLock({ s in s.agents[agentId].map { ($0.version, $0.drain) } }) else {
            waiter.respond(APIError(.notFound, "agent \(agentId) is not registered").response)
            return
        }
        let response = buildResponse(agentId, version, drain)
        waiter.respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: response.encoded()))
    }
}
