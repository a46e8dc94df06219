import Model
import Shared

extension JobVerbs {
    /// Delays before the second and third submit attempts. Every attempt carries the same
    /// `Idempotency-Key`, so a submit whose reply was lost cannot create a second job.
    static let submitRetryDelays: [Duration] = [.milliseconds(250), .seconds(1)]

    /// `job submit FILE|- [--wait] [--timeout D]`: prints the new job's id (or its JSON).
    static func submit(_ c: VerbContext) throws(CLIFailure) {
        let body = try c.io.readInput(c.argument, CLI.jobBytesMax)
        guard !body.isEmpty else { throw .usage("\(c.argument == "-" ? "standard input" : c.argument) is empty") }
        let headers: HTTPHeaders = ["Idempotency-Key": c.io.newIdempotencyKey()]
        let (raw, job) = try retrying(c.io, delays: submitRetryDelays) { () throws(CLIFailure) in
            try c.session.json(.POST, "/v1/jobs", headers: headers, body: body)
        }
        guard let id = job.string(at: "id") else { throw .failed("POST /v1/jobs: the reply has no job id") }
        guard c.parsed.bool("wait") else {
            if c.json { c.printJSON(raw) } else { c.io.print(id) }
            return
        }
        if !c.json { c.io.print(id) }  // Printed now, so a timed-out wait still tells the user the id.
        let timeout = c.parsed.duration("timeout") ?? .seconds(600)
        let finished = try JobWaiter(session: c.session, jobId: id, timeout: timeout).wait()
        if c.json { c.printJSON(finished) }
    }

    /// Runs `attempt`, retrying transient failures after each of `delays`; the last failure wins.
    static func retrying<T>(_ io: CLIIO, delays: [Duration],
                            _ attempt: () throws(CLIFailure) -> T) throws(CLIFailure) -> T {
        var delays = delays[...]
        while true {
            do {
                return try attempt()
            } catch where error.isTransient && !delays.isEmpty {
                io.sleep(delays.removeFirst())
            }
        }
    }
}

/// Polls `GET /v1/jobs/{id}` until the job is `Finished`, backing off between polls, for at most
/// `timeout`. Transient failures (no answer, 503 while a leader is elected) are waited out; any
/// other failure ends the wait at once.
struct JobWaiter {
    let session: APISession
    let jobId: String
    let timeout: Duration
    var firstDelay: Duration = .milliseconds(200)
    var delayMax: Duration = .seconds(5)

    /// The raw JSON of the finished job.
    func wait() throws(CLIFailure) -> [UInt8] {
        let io = session.io
        let deadline = io.monotonicNow() + timeout
        let target = RequestTarget.path("/v1/jobs/", jobId)
        var delay = firstDelay
        var lastState = "unknown"
        while true {
            do {
                let (raw, job) = try session.json(.GET, target)
                lastState = job.string(at: "state") ?? lastState
                if lastState == JobState.finished.rawValue { return raw }
            } catch where error.isTransient {
                lastState = "unknown (\(error.lines[0].dropFirst("error: ".count)))"
            }
            let remaining = deadline - io.monotonicNow()
            guard remaining > .zero else {
                throw .failed("timed out after \(DurationText.format(timeout)) waiting for job \(jobId) to finish (state: \(lastState))")
            }
            io.sleep(min(delay, remaining))
            delay = min(delay * 2, delayMax)
        }
    }
}
