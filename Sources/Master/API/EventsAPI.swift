import Shared

/// `GET /v1/events?since=INDEX`: the change feed as newline-delimited JSON, one object per job
/// or task change: `{"index":12,"command":"killJob","kind":"job","id":"…","state":"Finished"}`.
/// Without `since` only new events are sent; with it, retained events after that index first.
struct EventsAPI: Sendable {
    let events: EventLog

    func register(on router: inout Router) {
        router.add(.GET, "/v1/events") { request, _, respond in
            var since: UInt64?
            if let text = request.queryValue("since") {
                guard let value = UInt64(text) else {
                    respond(APIError.invalid("since", "must be a log index (a non-negative integer)").response)
                    return
                }
                since = value
            }
            let events = self.events
            let from = since
            do throws(EventLog.SubscribeError) { try events.check(since: from) } catch {
                respond(Self.apiError(error).response)
                return
            }
            // A watcher that falls behind between the check and the subscription gets the error
            // as the stream's only line.
            respond(HTTPResponse(status: 200, headers: ["Content-Type": "application/x-ndjson"],
                                 stream: HTTPStreamSource { writer in
                                     do throws(EventLog.SubscribeError) { try events.subscribe(writer, since: from) } catch {
                                         writer.write(Array((Self.apiError(error).json + "\n").utf8))
                                         writer.finish()
                                     }
                                 }))
        }
    }

    static func apiError(_ error: EventLog.SubscribeError) -> APIError {
        switch error {
        case .tooOld(let oldest):
            APIError(status: 410, code: "gone", message: "events before index \(oldest) are no longer retained; list the current state and watch from its applied index", field: "since")
        case .tooManyWatchers(let max):
            APIError(status: 503, code: "unavailable", message: "\(max) watchers are connected, the limit")
        }
    }
}
