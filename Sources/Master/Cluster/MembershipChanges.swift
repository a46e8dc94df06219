import Dispatch
import Foundation
import JobStore
import Raft
import Shared
import Synchronization

/// Adds and removes masters one at a time, and hands leadership over on shutdown.
///
/// Adding `m4` at `host:port` (leader only):
///
///   1. commit `setMasterAddress(m4, host:port)` to the store: every master (and every later
///      snapshot) now knows where m4 listens, and opens a peer queue to it;
///   2. commit a configuration entry adding m4 as a *learner*: it receives the log (or a
///      snapshot) but neither votes nor counts towards commits, so a slow catch-up cannot stall
///      the group;
///   3. the leader's loop promotes the learner to voter once its log reaches the commit index
///      (`RaftReplicator.promoteCaughtUpLearner`); the request waits a bounded time for that.
///
/// Removing `m3`: commit the configuration entry removing it, then `forgetMaster(m3)`. A leader
/// asked to remove itself first hands leadership to the most caught-up voter and sends the
/// client there, so no election timeout is spent.
///
/// One change at a time per master: the operation runs on one thread of its own and a second
/// request meanwhile is refused (409), as the core refuses a second uncommitted change.
final class MembershipChanges: Sendable {
    struct Limits: Sendable {
        /// Each step (a store command, a configuration entry) must commit within this.
        var commitTimeout: Duration = .seconds(5)
        /// How long an add waits for the new master to catch up and be promoted.
        var promotionTimeout: Duration = .seconds(10)
        /// How long a handover waits for another leader to appear.
        var handoverTimeout: Duration = .seconds(2)
    }

    enum Outcome: Sendable, Equatable {
        /// Added; `voter` false when still a learner catching up (promotion continues).
        case added(voter: Bool)
        case removed
        /// This master handed leadership over; the client should repeat the request there.
        case redirect(leaderAPI: String)
    }

    enum Failure: Error, Sendable, Equatable {
        case notReplicated
        case busy
        case change(MembershipError)
        case alreadyMember(String)
        case nameCollision(String)
        case notFound(String)
        case lastVoter
        case rejected(StoreError)
        case noHandover
    }

    let cluster: RaftCluster
    let limits: Limits
    private let running = Mutex(false)

    init(cluster: RaftCluster, limits: Limits = Limits()) {
        self.cluster = cluster
        self.limits = limits
    }

    /// Runs `body` on a thread of its own unless a change is already running here (then answers
    /// `.busy` at once). `done` gets the result on that thread.
    func run(_ body: @escaping @Sendable (MembershipChanges) -> Result<Outcome, Failure>,
             done: @escaping @Sendable (Result<Outcome, Failure>) -> Void) {
        guard running.withLock({ r in defer { r = true }; return !r }) else { return done(.failure(.busy)) }
        let thread = Thread { [self] in
            let result = body(self)
            running.withLock { $0 = false }
            done(result)
        }
        thread.name = "fuller-membership"
        thread.start()
    }

    /// Blocking: see the type's documentation for the steps.
    func add(name: String, peerAddress: String) -> Result<Outcome, Failure> {
        let id = RaftCluster.nodeID(name)
        let status = cluster.replicator.status
        if let known = cluster.name(of: id), known != name { return .failure(.nameCollision(known)) }
        if status.voters.contains(id) { return .failure(.alreadyMember(name)) }
        let resuming = status.learners.contains(id)
        if status.membershipChangePending || (!status.learners.isEmpty && !resuming) { return .failure(.change(.pending)) }
        if case .failure(let f) = commit(.setMasterAddress(name: name, peerAddress: peerAddress, atMs: Self.nowMs())) {
            return .failure(f)
        }
        if !resuming, case .failure(let f) = change(.addLearner(id)) { return .failure(f) }
        let deadline = DispatchTime.now() + limits.promotionTimeout.dispatchInterval
        while DispatchTime.now() < deadline {
            if cluster.replicator.status.voters.contains(id) { return .success(.added(voter: true)) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return .success(.added(voter: false))
    }

    /// Blocking: removes `name`, or hands leadership over first when `name` is this master.
    func remove(name: String) -> Result<Outcome, Failure> {
        let id = RaftCluster.nodeID(name)
        let status = cluster.replicator.status
        guard status.voters.contains(id) || status.learners.contains(id) else { return .failure(.notFound(name)) }
        if status.voters == [id] { return .failure(.lastVoter) }
        if status.membershipChangePending { return .failure(.change(.pending)) }
        if id == cluster.selfID {
            guard let leader = handOverBlocking() else { return .failure(.noHandover) }
            return .success(.redirect(leaderAPI: leader))
        }
        if case .failure(let f) = change(.remove(id)) { return .failure(f) }
        // Best effort: a leftover address is harmless (nobody sends to a non-member).
        _ = commit(.forgetMaster(name: name, atMs: Self.nowMs()))
        return .success(.removed)
    }

    // MARK: Steps

    private func commit(_ command: Command) -> Result<Void, Failure> {
        let box = Mutex<Result<CommandResult, ProposeError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        cluster.replicator.propose(command) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + limits.commitTimeout.dispatchInterval) == .success else {
            return .failure(.change(.timedOut))
        }
        switch box.withLock({ $0 })! {
        case .success(.rejected(let e)): return .failure(.rejected(e))
        case .success: return .success(())
        case .failure(.notLeader(let leader)): return .failure(.change(.notLeader(leaderAPI: leader)))
        case .failure: return .failure(.change(.timedOut))
        }
    }

    private func change(_ change: MembershipChange) -> Result<Void, Failure> {
        let box = Mutex<Result<Void, MembershipError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        cluster.replicator.proposeMembershipChange(change) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + limits.commitTimeout.dispatchInterval) == .success else {
            return .failure(.change(.timedOut))
        }
        return box.withLock { $0 }!.mapError { .change($0) }
    }

    // MARK: Handover

    /// Asks the loop to transfer leadership (again every half second, as the core gives a
    /// transfer up after an election timeout) until another leader is known or the handover
    /// timeout passes. Returns the new leader's API address; nil if this master does not lead
    /// or no other master took over in time.
    func handOverBlocking() -> String? {
        let replicator = cluster.replicator
        guard replicator.status.role == .leader else { return nil }
        let deadline = DispatchTime.now() + limits.handoverTimeout.dispatchInterval
        var nextRequest = DispatchTime.now()
        while DispatchTime.now() < deadline {
            let s = replicator.status
            if s.leader != 0, s.leader != cluster.selfID, s.role != .leader, let api = cluster.apiAddress(of: s.leader) {
                return api
            }
            if DispatchTime.now() >= nextRequest, s.role == .leader {
                replicator.transferLeadership { _ in }
                nextRequest = DispatchTime.now() + .milliseconds(500)
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }

    /// `handOverBlocking` off the caller's task: for `MasterNode.shutdown`.
    func handOver() async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(returning: handOverBlocking()) }
            thread.name = "fuller-handover"
            thread.start()
        }
    }

    private static func nowMs() -> Int64 { Timestamp.now().millisecondsSinceEpoch }
}

extension Duration {
    /// For `DispatchTime` arithmetic.
    var dispatchInterval: DispatchTimeInterval {
        .milliseconds(Int(components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000))
    }
}
