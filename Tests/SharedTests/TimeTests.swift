import Foundation
import Testing
@testable import Shared

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_795_624_200_123, "2026-11-25T16:30:00.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsAndParsesBack(millis: Int64, text: String) {
        let timestamp = Timestamp(millisecondsSinceEpoch: millis)
        #expect(timestamp.rfc3339 == text)
        #expect(Timestamp(rfc3339: text) == timestamp)
    }

    @Test(arguments: [
        ("2026-11-25T16:30:00Z", Int64(1_795_624_200_000)),
        ("2026-11-25t16:30:00.1z", 1_795_624_200_100),
        ("2026-11-25T16:30:00.123456789Z", 1_795_624_200_123),
        ("2026-11-25T17:30:00.123+01:00", 1_795_624_200_123),
        ("2026-11-25T11:00:00.123-05:30", 1_795_624_200_123),
    ])
    func parsesVariants(text: String, millis: Int64) {
        #expect(Timestamp(rfc3339: text)?.millisecondsSinceEpoch == millis)
    }

    @Test(arguments: [
        "", "2026-11-25", "2026-11-25T16:30:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T16:30:00.Z", "2026-11-25T16:30:00Zjunk", "26-11-25T16:30:00Z",
    ])
    func rejectsMalformed(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func matchesFoundationForTheCurrentTime() {
        let now = Timestamp.now()
        let date = Date(timeIntervalSince1970: Double(now.millisecondsSinceEpoch) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(formatter.string(from: date) == now.rfc3339)
    }

    @Test func codesAsRFC3339String() throws {
        let timestamp = Timestamp(millisecondsSinceEpoch: 1_795_624_200_123)
        let data = try JSONEncoder().encode([timestamp])
        #expect(String(decoding: data, as: UTF8.self) == #"["2026-11-25T16:30:00.123Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [timestamp])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Timestamp].self, from: Data(#"["x"]"#.utf8)) }
    }

    @Test func durationHelpers() {
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.milliseconds(250).seconds == 0.25)
        let t = Timestamp(millisecondsSinceEpoch: 1000)
        #expect(t.advanced(by: .seconds(2)).millisecondsSinceEpoch == 3000)
        #expect(t.duration(to: Timestamp(millisecondsSinceEpoch: 500)) == .milliseconds(-500))
    }
}

@Suite struct ManualClockTests {
    @Test func sleepersWakeWhenTheClockReachesTheirDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        async let woke: ManualClock.Instant = {
            try await clock.sleep(until: start.advanced(by: .seconds(5)))
            return clock.now
        }()
        await waitForSleepers(clock, count: 1)
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        #expect(try await woke == start.advanced(by: .seconds(5)))
        #expect(clock.sleeperCount == 0)
    }

    @Test func pastDeadlineReturnsImmediately() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(1))
        try await clock.sleep(until: ManualClock.Instant(offset: .zero))
        try await clock.sleep(for: .zero)
    }

    @Test func cancellationWakesTheSleeperWithAnError() async {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        await waitForSleepers(clock, count: 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func wallClockFollowsTheManualClock() {
        let clock = ManualClock()
        let wall = WallClock.following(clock, from: Timestamp(millisecondsSinceEpoch: 1000))
        clock.advance(by: .milliseconds(250))
        #expect(wall.now().millisecondsSinceEpoch == 1250)
        #expect(WallClock.fixed(Timestamp(millisecondsSinceEpoch: 7)).now().millisecondsSinceEpoch == 7)
    }

    private func waitForSleepers(_ clock: ManualClock, count: Int) async {
        while clock.sleeperCount < count { await Task.yield() }
    }
}

@Suite struct SeededRandomTests {
    @Test func sameSeedSameSequence() {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
    }

    @Test func knownOutputForSeedZero() {
        // SplitMix64(0) then xoshiro256**: pinned so a change to the generator is noticed, since
        // recorded simulation seeds would otherwise replay differently.
        var rng = SeededRandom(seed: 0)
        #expect(rng.next() == 0x99EC_5F36_CB75_F2B4)
    }

    @Test func worksWithStandardLibraryAlgorithms() {
        var rng = SeededRandom(seed: 7)
        let values = (0..<1000).map { _ in Int.random(in: 0..<10, using: &rng) }
        #expect(Set(values) == Set(0..<10))
        var again = SeededRandom(seed: 7)
        #expect(values == (0..<1000).map { _ in Int.random(in: 0..<10, using: &again) })
    }

    @Test func seededIDsAreValidLowercaseV4UUIDsAndReproducible() {
        var rng = SeededRandom(seed: 1), replay = SeededRandom(seed: 1)
        let ids = (0..<100).map { _ in ID.random(using: &rng) }
        #expect(ids == (0..<100).map { _ in ID.random(using: &replay) })
        #expect(Set(ids).count == 100)
        for id in ids {
            #expect(ID.isValid(id))
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            let chars = Array(id)
            #expect(chars[14] == "4")
            #expect("89ab".contains(chars[19]))
        }
        #expect(ID.isValid(ID.random()))
    }

    @Test(arguments: ["", "3F2B8C1E-9A4D-4F0E-8B7A-1C2D3E4F5A6B", "3f2b8c1e9a4d4f0e8b7a1c2d3e4f5a6b",
                      "3f2b8c1e-9a4d-4f0e-8b7a-1c2d3e4f5a6", "3f2b8c1e-9a4d-4f0e-8b7a-1c2d3e4f5a6g"])
    func rejectsNonCanonicalIDs(text: String) {
        #expect(!ID.isValid(text))
    }
}
