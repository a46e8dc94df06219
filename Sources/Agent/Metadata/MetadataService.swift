import Foundation
import Model
import Shared
import Synchronization

/// The metadata endpoint's shell: the HTTP handler around `MetadataResponder`, fed the running
/// tasks by the executor (`CallerSink`), running the credentials provider when one is set.
///
/// Every request takes one short lock: the caller's answers are precomputed, so the work under
/// it is a few dictionary lookups. A credentials request that finds nothing cached runs the
/// provider once per task however many requests wait for it (at most `credentialWaitersMax`
/// per task; beyond that, 503).
///
/// A container may ask before the agent has learned its address (the inspect after its start
/// is still on its way). So while some task is starting without a known address, a request
/// from an unknown address is held (at most `heldMax` of them) until the callers change and
/// its address is known, or `unknownCallerWait` passes: then 403.
///
/// A caller whose container has a MAC address is answered only when the host's neighbour entry
/// for its source IP shows that MAC (`NeighbourTable`): otherwise 403, counted in
/// `fuller_agent_metadata_link_mismatches_total`.
final class MetadataService: HTTPHandler, CallerSink {
    struct Configuration: Sendable {
        var host: MetadataHost
        var credentials: CredentialsCommand?
        /// Credentials are fetched again this long before they expire.
        var credentialsRefreshMargin: Duration = .seconds(300)
        var credentialWaitersMax = 256
        var tokensPerTaskMax = 128
        var unknownCallerWait: Duration = .seconds(1)
        var heldMax = 1_024
        /// The host's neighbour entries for an IP, as MAC addresses (`NeighbourTable.lookUp`).
        var neighbours: @Sendable (String) -> [String] = NeighbourTable.lookUp
    }

    /// Requests from unknown addresses waiting for a starting task's address.
    private struct Held {
        var next: UInt64 = 0
        var waiting: [UInt64: (query: MetadataQuery, respond: Respond)] = [:]
        var starting = 0
        /// Requests ever held (tests, diagnostics).
        var total = 0
    }

    typealias Respond = @Sendable (HTTPResponse) -> Void

    let configuration: Configuration
    let logger: Logger
    let metrics: AgentMetrics
    private let responder: Mutex<MetadataResponder>
    /// Requests waiting for a provider run, by task id.
    private let fetching = Mutex<[String: [(MetadataQuery, Respond)]]>([:])
    private let origin = ContinuousClock.now
    private let held = Mutex(Held())
    /// Where held requests time out: a serial queue of its own, so a busy global queue cannot
    /// hold a refusal past its wait.
    private let heldTimers = DispatchQueue(label: "fuller.metadata.held")

    init(configuration: Configuration, logger: Logger = Logger(component: "metadata"), metrics: AgentMetrics = AgentMetrics()) {
        var host = configuration.host
        host.credentialsProvider = configuration.credentials != nil
        var configuration = configuration
        configuration.host = host
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        responder = Mutex(MetadataResponder(host: host, tokensPerTaskMax: configuration.tokensPerTaskMax))
    }

    func callersChanged(_ callers: [TaskIdentity], starting: Int) {
        let known = responder.withLock { responder in
            responder.update(callers)
            return Set(responder.callers.keys)
        }
        let released = held.withLock { held in
            held.starting = starting
            let ids = held.waiting.filter { starting == 0 || known.contains(String($0.value.query.callerIP ?? "")) }.map(\.key)
            return ids.compactMap { held.waiting.removeValue(forKey: $0) }
        }
        for (query, respond) in released { answer(query, respond: respond, fetched: false, mayHold: false) }
    }

    /// How many requests from unknown addresses have been held so far (tests, diagnostics).
    var heldTotal: Int { held.withLock(\.total) }

    /// The IPs the endpoint answers now (tests, diagnostics).
    var callerIPs: [String] { responder.withLock { $0.callers.keys.sorted() } }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let target = request.target
        let path = target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
        let headers = request.headers
        let query = MetadataQuery(method: request.method, path: path, callerIP: request.remoteAddress.flatMap(Self.host(of:)),
                                  token: headers[MetadataResponder.tokenHeader], ttlSeconds: headers[MetadataResponder.ttlHeader],
                                  forwarded: headers["X-Forwarded-For"] != nil)
        answer(query, respond: respond, fetched: false, mayHold: true)
    }

    private func answer(_ query: MetadataQuery, respond: @escaping Respond, fetched: Bool, mayHold: Bool) {
        if let refusal = linkRefusal(query) { return respond(refusal) }
        let now = origin.duration(to: .now)
        let outcome = responder.withLock { $0.answer(query, now: now, wallNow: .now(), newToken: Self.newToken) }
        switch outcome {
        case .respond(let response):
            respond(response)
        case .unknownCaller where mayHold:
            hold(query, respond: respond)
        case .unknownCaller:
            respond(MetadataResponder.unknownCallerResponse)
        case .fetchCredentials where fetched:
            respond(APIError(.unavailable, "credentials are not available yet; try again").response)
        case .fetchCredentials(let identity):
            fetchCredentials(for: identity, query: query, respond: respond)
        }
    }

    private func fetchCredentials(for identity: TaskIdentity, query: MetadataQuery, respond: @escaping Respond) {
        guard let command = configuration.credentials else { return respond(APIError(.notFound, "no credentials").response) }
        let (first, full) = fetching.withLock { waiting -> (Bool, Bool) in
            let list = waiting[identity.taskId]
            if let list, list.count >= configuration.credentialWaitersMax { return (false, true) }
            waiting[identity.taskId, default: []].append((query, respond))
            return (list == nil, false)
        }
        if full { return respond(APIError(.unavailable, "too many requests wait for this task's credentials").response) }
        guard first else { return }
        command.run(for: identity) { [self] result in
            let failure = store(result, for: identity)
            let waiters = fetching.withLock { $0.removeValue(forKey: identity.taskId) ?? [] }
            for (query, respond) in waiters {
                if let failure {
                    respond(APIError(.internalError, failure.description).response)
                } else {
                    answer(query, respond: respond, fetched: true, mayHold: false)
                }
            }
        }
    }

    /// A 403 when the caller's IP belongs to a container with a MAC address and the host's
    /// neighbour entry for that IP shows another (or none): someone else took the address.
    private func linkRefusal(_ query: MetadataQuery) -> HTTPResponse? {
        guard let ip = query.callerIP.map(String.init),
              let expected = responder.withLock({ $0.callers[ip]?.identity.macAddress }) else { return nil }
        let seen = configuration.neighbours(ip)
        if NeighbourTable.isGenuine(expected: expected, seen: seen) { return nil }
        metrics.metadataLinkMismatches.increment()
        logger.warn("metadata request refused: the caller's link-layer address is not its container's",
                    ["ip": .string(ip), "expected": .string(expected), "seen": .string(seen.joined(separator: ","))])
        return MetadataResponder.error(.permissionDenied, "the caller's link-layer address is not that of the container holding \(ip)")
    }

    /// Holds a request from an unknown address while a task is starting; else 403 at once.
    private func hold(_ query: MetadataQuery, respond: @escaping Respond) {
        let id: UInt64? = held.withLock { held in
            guard held.starting > 0, held.waiting.count < configuration.heldMax else { return nil }
            held.next += 1
            held.total += 1
            held.waiting[held.next] = (query, respond)
            return held.next
        }
        guard let id else { return respond(MetadataResponder.unknownCallerResponse) }
        // The callers may have changed between the answer and the hold: look once more, so a
        // request is never left waiting for a change that has already happened.
        let known = responder.withLock { $0.callers[String(query.callerIP ?? "")] != nil }
        if known, let entry = held.withLock({ $0.waiting.removeValue(forKey: id) }) {
            return answer(entry.query, respond: entry.respond, fetched: false, mayHold: false)
        }
        let wait = Int(configuration.unknownCallerWait.wholeMilliseconds)
        heldTimers.asyncAfter(deadline: .now() + .milliseconds(wait)) { [self] in
            if let entry = held.withLock({ $0.waiting.removeValue(forKey: id) }) {
                entry.respond(MetadataResponder.unknownCallerResponse)
            }
        }
    }

    /// Parses and keeps a provider's answer; the error when there is nothing to keep.
    private func store(_ result: Result<[UInt8], CredentialsError>, for identity: TaskIdentity) -> CredentialsError? {
        let problem: CredentialsError
        switch result {
        case .success(let output):
            do {
                let credentials = try MetadataCredentials.parse(output, now: .now(), refreshMargin: configuration.credentialsRefreshMargin)
                responder.withLock { $0.store(credentials, for: identity) }
                return nil
            } catch {
                problem = .invalidOutput(error.field.isEmpty ? error.message : "\(error.field) \(error.message)")
            }
        case .failure(let failure):
            problem = failure
        }
        logger.warn("credentials provider failed", ["task": .string(identity.taskId), "error": .string(problem.description)])
        return problem
    }

    /// `1.2.3.4` from `1.2.3.4:5678`, `::1` from `[::1]:5678`.
    static func host(of address: String) -> Substring? {
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { return nil }
            return address[address.index(after: address.startIndex)..<close]
        }
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return address[..<colon]
    }

    /// 32 bytes from the system's secure generator, base64url without padding.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Receives the tasks the metadata endpoint may answer, each time they change.
protocol CallerSink: Sendable {
    /// `callers`: the running tasks with known addresses; `starting`: how many tasks are
    /// starting whose address is not known yet.
    func callersChanged(_ callers: [TaskIdentity], starting: Int)
}
