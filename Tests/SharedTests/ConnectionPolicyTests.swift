import Testing
@testable import Shared

@Suite struct ConnectionPolicyTests {
    typealias Standing = ConnectionPolicy.Standing

    @Test func theOldestRequestStillArrivingGoesFirst() {
        let connections: [(id: Int, standing: Standing)] = [
            (1, .idle(sinceNanos: 10)), (2, .receiving(sinceNanos: 50)), (3, .busy),
            (4, .receiving(sinceNanos: 20)), (5, .receiving(sinceNanos: 90)),
        ]
        #expect(ConnectionPolicy.victim(among: connections) == 4)
    }

    @Test func idleConnectionsGoOnlyWhenNoneIsReceivingLongestIdleFirst() {
        let connections: [(id: Int, standing: Standing)] = [(1, .idle(sinceNanos: 30)), (2, .busy), (3, .idle(sinceNanos: 5))]
        #expect(ConnectionPolicy.victim(among: connections) == 3)
    }

    @Test func connectionsFromTheCurrentRoundAreNotWeighed() {
        let connections: [(id: Int, standing: Standing)] = [(1, .receiving(sinceNanos: 100)), (2, .idle(sinceNanos: 40)),
                                                            (3, .receiving(sinceNanos: 100))]
        #expect(ConnectionPolicy.victim(among: connections, protectedFromNanos: 100) == 2)
        #expect(ConnectionPolicy.victim(among: connections, protectedFromNanos: 40) == nil)
    }

    @Test func tiesGoToTheSmallestIdWhateverTheOrder() {
        let connections: [(id: Int, standing: Standing)] = [(7, .receiving(sinceNanos: 5)), (3, .receiving(sinceNanos: 5)),
                                                            (9, .receiving(sinceNanos: 5))]
        #expect(ConnectionPolicy.victim(among: connections) == 3)
        #expect(ConnectionPolicy.victim(among: connections.reversed()) == 3)
    }

    @Test func busyConnectionsAreNeverEvicted() {
        let connections: [(id: Int, standing: Standing)] = [(1, .busy), (2, .busy)]
        #expect(ConnectionPolicy.victim(among: connections) == nil)
        #expect(ConnectionPolicy.victim(among: [(id: Int, standing: Standing)]()) == nil)
    }

    @Test func theHeadDeadlineRunsFromTheFirstByte() {
        let d = ConnectionPolicy.ReceiveDeadlines(headNanos: 10_000, bodyMinBytesPerSecond: 1_000)
        #expect(!d.headExpired(sinceNanos: 5_000, nowNanos: 15_000))
        #expect(d.headExpired(sinceNanos: 5_000, nowNanos: 15_001))
        #expect(!d.headExpired(sinceNanos: 5_000, nowNanos: 4_000), "a clock reading before the start is not late")
    }

    @Test func theBodyGetsTheHeadSpanPlusItsRateAllowance() {
        // 1,000 bytes per second: 2 bytes received earn 2 ms on top of the 10 µs span.
        let d = ConnectionPolicy.ReceiveDeadlines(headNanos: 10_000, bodyMinBytesPerSecond: 1_000)
        #expect(!d.bodyExpired(sinceNanos: 0, receivedBytes: 2, nowNanos: 2_010_000))
        #expect(d.bodyExpired(sinceNanos: 0, receivedBytes: 2, nowNanos: 2_010_001))
        #expect(d.bodyExpired(sinceNanos: 0, receivedBytes: 0, nowNanos: 10_001))
        #expect(!d.bodyExpired(sinceNanos: 0, receivedBytes: Int.max, nowNanos: UInt64.max), "no overflow")
    }
}
