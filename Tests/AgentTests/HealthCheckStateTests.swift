import Testing
@testable import Agent
import Model
import Shared

/// The health state machine on its own: Docker's rules, time given as values.
@Suite struct HealthCheckStateTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)

    func state(retries: Int = 3, interval: Int = 10, startPeriod: Int = 0) -> HealthCheckState {
        HealthCheckState(check: HealthCheck(probe: .http(port: 80, path: "/"), intervalSeconds: interval, timeoutSeconds: 1,
                                            retries: retries, startPeriodSeconds: startPeriod), startedAt: start)
    }

    func at(_ seconds: Int) -> Timestamp { start.advanced(by: .seconds(seconds)) }

    @Test func startsAsStartingAndOneSuccessMakesItHealthy() {
        var s = state()
        #expect(s.status == .starting && s.isDue(start))
        s.begin()
        #expect(!s.isDue(start), "one probe at a time")
        let changed = s.finish(ok: true, message: "HTTP 200", now: at(0))
        #expect(changed)
        #expect(s.status == .healthy)
    }

    @Test func unhealthyOnlyAfterRetriesFailuresInARow() {
        var s = state(retries: 3)
        for (second, ok) in [(0, true), (10, false), (20, false), (30, true), (40, false), (50, false)] {
            s.begin()
            s.finish(ok: ok, message: nil, now: at(second))
            #expect(s.status == .healthy, "a streak of fewer than 3 failures, broken by a success, at \(second) s")
        }
        s.begin()
        let broke = s.finish(ok: false, message: "HTTP 500", now: at(60))
        #expect(broke)
        #expect(s.status == .unhealthy && s.failureStreak == 3 && s.lastMessage == "HTTP 500")
        s.begin()
        let healed = s.finish(ok: true, message: nil, now: at(70))
        #expect(healed, "one success heals")
        #expect(s.status == .healthy && s.failureStreak == 0)
    }

    @Test func failuresInTheStartPeriodDoNotCount() {
        var s = state(retries: 1, interval: 1, startPeriod: 5)
        for second in 0..<5 {
            s.begin()
            s.finish(ok: false, message: nil, now: at(second))
            #expect(s.status == .starting, "within the start period at \(second) s")
        }
        s.begin()
        s.finish(ok: false, message: nil, now: at(5))
        #expect(s.status == .unhealthy)
    }

    @Test func aSuccessInTheStartPeriodCountsAtOnce() {
        var s = state(retries: 1, startPeriod: 60)
        s.begin()
        s.finish(ok: true, message: nil, now: at(1))
        #expect(s.status == .healthy)
    }

    @Test func theNextProbeIsDueAnIntervalAfterTheLastEnded() {
        var s = state(interval: 10)
        s.begin()
        s.finish(ok: true, message: nil, now: at(3))
        #expect(!s.isDue(at(12)))
        #expect(s.isDue(at(13)))
    }

    @Test(arguments: [(200, true), (302, true), (399, true), (400, false), (500, false), (503, false)])
    func httpStatusesAreJudgedLikeKubernetes(status: Int, ok: Bool) {
        #expect(HTTPHealthProbe.verdict(status) == (ok, "HTTP \(status)"))
    }
}
