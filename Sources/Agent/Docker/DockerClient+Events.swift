import Model
import Shared

#if canImport(Glibc)
import Glibc
#endif

/// The `/events` stream.
extension DockerClient {
    /// Subscribes with `since` set to the moment of the call: the daemon replays what it buffered
    /// from then on before streaming live events, so an event that happens while the request is
    /// still on its way is not lost (the daemon hands out buffer and live feed under one lock, so
    /// nothing is seen twice). Nothing bounds the stream's length or silences; cancelling the task
    /// ends it with `.daemonUnavailable`. A line that is not JSON ends it with `.serverError`.
    func events(labels: [String: String],
                onEvent: @escaping @Sendable (DockerEvent) -> Bool) async throws(DockerError) {
        var query = [("since", Self.unixTimeNow())]
        if !labels.isEmpty { query.append(("filters", DockerWire.labelFilter(labels))) }
        try await streamLines(.GET, "/events", query: query, timeout: nil, idleTimeout: Self.unboundedIdle) { line in
            guard let json = try? JSONParser.parse(Array(line)) else {
                let text = String(decoding: line.prefix(200), as: UTF8.self)
                return .failure(.serverError(status: 200, message: "events: unreadable line \(text)"))
            }
            return onEvent(DockerWire.event(json)) ? nil : .success(())
        }
    }

    /// `SECONDS.NANOSECONDS` of the wall clock, the form the daemon takes for `since`.
    static func unixTimeNow() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let nanos = String(spec.tv_nsec)
        return "\(spec.tv_sec)." + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos
    }
}
