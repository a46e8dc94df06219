import Model
import Shared
import Synchronization

/// The agent's side of the agent protocol: registers, then keeps one long-poll heartbeat open
/// and sends an extra immediate one whenever the executor's reports change, so a container's
/// start or exit reaches the master within milliseconds and a new assignment reaches the agent
/// as soon as the master has it.
///
/// ```
/// register (backoff over the masters) ──► ┬─ long poll: heartbeat(wait 10 s) ──► apply answer ─┐
///                                         │        ▲────────────────────────────────────────────┘
///                                         └─ on report change: heartbeat(wait 0) ──► apply answer
///   404 from either ──► register again;  unreachable/503 ──► next master, bounded backoff
/// ```
/// Every heartbeat carries the current state of every task (the executor's reports), so a lost
/// heartbeat or answer loses nothing: the next one repeats it.
final class HeartbeatLoop: Sendable {
    struct Configuration: Sendable {
        var registration: AgentRegistration
        /// How long the master may hold a heartbeat that has nothing new.
        var longPollWait: Duration = .seconds(10)
        /// Added to the wait for the client's deadline.
        var timeoutSlack: Duration = .seconds(5)
        /// Deadline of registrations and immediate heartbeats.
        var requestTimeout: Duration = .seconds(5)
        var backoffInitial: Duration = .milliseconds(250)
        var backoffMax: Duration = .seconds(10)
        /// The shortest gap between two long polls, in case a master answers at once every time.
        var pollGapMin: Duration = .milliseconds(20)

        init(registration: AgentRegistration) { self.registration = registration }
    }

    /// What `/readyz` shows about the masters.
    struct Status: Sendable, Equatable {
        var registered = false
        var lastError: String?
        var master: String?
    }

    let configuration: Configuration
    let connection: MasterConnection
    let executor: Executor
    let logger: Logger
    let sleep: @Sendable (Duration) async throws -> Void
    let metrics: AgentMetrics
    private let sequence = Atomic<UInt64>(0)
    private let statusBox = Mutex(Status())

    init(configuration: Configuration, connection: MasterConnection, executor: Executor,
         logger: Logger = Logger(component: "heartbeat"), metrics: AgentMetrics? = nil,
         sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.configuration = configuration
        self.connection = connection
        self.executor = executor
        self.logger = logger
        self.metrics = metrics ?? executor.metrics
        self.sleep = sleep
    }

    var status: Status { statusBox.withLock { $0 } }

    /// Runs until cancelled.
    func run() async {
        guard await register() else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.longPollLoop() }
            group.addTask { await self.immediateLoop() }
        }
    }

    /// Registers with the first master that answers; retries with bounded backoff until it works
    /// or the task is cancelled (then false).
    func register() async -> Bool {
        var backoff = Backoff(initial: configuration.backoffInitial, max: configuration.backoffMax)
        var w = JSONWriter()
        configuration.registration.write(to: &w)
        let body = w.bytes
        while !Task.isCancelled {
            do throws(MasterError) {
                let response = try await connection.post("/v1/agents/register", body: body, timeout: configuration.requestTimeout)
                guard (200..<300).contains(response.status) else {
                    throw .status(response.status, String(decoding: response.bodyBytes.prefix(512), as: UTF8.self))
                }
                note(registered: true, error: nil)
                logger.info("registered", ["master": .string(connection.current.description)])
                return true
            } catch {
                if error == .cancelled { return false }
                note(registered: false, error: error.description)
                logger.warn("registration failed", ["error": .string(error.description)])
            }
            do { try await sleep(backoff.next()) } catch { return false }
        }
        return false
    }

    private func longPollLoop() async {
        var backoff = Backoff(initial: configuration.backoffInitial, max: configuration.backoffMax)
        let wait = Int(configuration.longPollWait.wholeMilliseconds)
        while !Task.isCancelled {
            let delay: Duration
            switch await send(waitMilliseconds: wait, timeout: configuration.longPollWait + configuration.timeoutSlack) {
            case .answered:
                backoff.reset()
                delay = configuration.pollGapMin
            case .reregistered:
                delay = .zero
            case .failed, .cancelled:
                delay = backoff.next()
            }
            if delay > .zero { do { try await sleep(delay) } catch { return } }
        }
    }

    /// Sends a heartbeat that the master answers at once whenever the reports change.
    private func immediateLoop() async {
        var backoff = Backoff(initial: configuration.backoffInitial, max: configuration.backoffMax)
        var seen = executor.changes.version
        while !Task.isCancelled {
            seen = await executor.changes.wait(beyond: seen)
            if Task.isCancelled { return }
            switch await send(waitMilliseconds: 0, timeout: configuration.requestTimeout) {
            case .answered, .reregistered: backoff.reset()
            case .cancelled: return
            case .failed:
                // The long poll carries the same reports when a master answers again.
                do { try await sleep(backoff.next()) } catch { return }
            }
        }
    }

    enum Outcome { case answered, reregistered, failed, cancelled }

    /// One heartbeat and its answer, counted and timed by kind and outcome.
    func send(waitMilliseconds: Int, timeout: Duration) async -> Outcome {
        let start = ContinuousClock.now
        let outcome = await exchange(waitMilliseconds: waitMilliseconds, timeout: timeout)
        metrics.heartbeat(kind: waitMilliseconds > 0 ? "long_poll" : "immediate", outcome: "\(outcome)",
                          answered: outcome == .answered, took: start.duration(to: .now))
        return outcome
    }

    private func exchange(waitMilliseconds: Int, timeout: Duration) async -> Outcome {
        let number = sequence.add(1, ordering: .relaxed).newValue
        let request = executor.heartbeat(sequence: number, waitMilliseconds: waitMilliseconds)
        let path = "/v1/agents/\(configuration.registration.id)/heartbeat"
        do throws(MasterError) {
            let response = try await connection.post(path, body: request.encoded(), timeout: timeout)
            switch response.status {
            case 200:
                let answer: HeartbeatResponse
                do { answer = try HeartbeatResponse(json: try JSONParser.parse(response.bodyBytes)) } catch {
                    throw .invalidAnswer("\(error)")
                }
                executor.apply(answer, requestSequence: number)
                note(registered: true, error: nil)
                return .answered
            case 404:
                throw .notRegistered
            default:
                throw .status(response.status, String(decoding: response.bodyBytes.prefix(512), as: UTF8.self))
            }
        } catch .notRegistered {
            logger.info("master does not know this agent; registering again")
            note(registered: false, error: MasterError.notRegistered.description)
            return await register() ? .reregistered : .cancelled
        } catch .cancelled {
            return .cancelled
        } catch {
            note(registered: status.registered, error: error.description)
            logger.warn("heartbeat failed", ["error": .string(error.description), "sequence": .int(Int64(number))])
            return .failed
        }
    }

    private func note(registered: Bool, error: String?) {
        let master = connection.current.description
        statusBox.withLock { $0 = Status(registered: registered, lastError: error, master: master) }
    }
}
