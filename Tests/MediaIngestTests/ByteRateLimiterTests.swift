import Foundation
import MediaIngest
import Synchronization
import Testing

/// A clock the limiter reads and "sleeps" on: sleeping advances it, so the tests see the schedule, not the wall.
final class ManualClock: Sendable {
    private let state = Mutex((now: ContinuousClock.now, slept: Duration.zero))

    var now: ContinuousClock.Instant { state.withLock { $0.now } }
    var slept: Duration { state.withLock { $0.slept } }

    func sleep(_ duration: Duration) {
        state.withLock {
            $0.now = $0.now + duration
            $0.slept += duration
        }
    }

    func limiter(_ bytesPerSecond: Int64, burst: Duration = .milliseconds(250)) -> ByteRateLimiter {
        ByteRateLimiter(
            bytesPerSecond: bytesPerSecond, burst: burst, now: { self.now }, sleep: { self.sleep($0) })
    }
}

@Suite("ByteRateLimiter: maxBytesPerSecond's schedule")
struct ByteRateLimiterTests {
    @Test("a steady sender is held to the rate: 20 MB at 2 MB/s take 10 s less the burst")
    func steady() async throws {
        let clock = ManualClock()
        let limiter = clock.limiter(2_000_000)
        for _ in 0..<80 { try await limiter.take(250_000) }
        let expected = 10.0 - 0.25
        let slept = Double(clock.slept.components.seconds) + Double(clock.slept.components.attoseconds) / 1e18
        #expect(abs(slept - expected) < 0.001, "slept \(slept) s")
    }

    @Test("workers sending at once share one schedule: four of them together get the rate, not four times it")
    func sharedByWorkers() async throws {
        // Time stands still; each take's wait is then exactly where its bytes fall on the one schedule.
        let start = ContinuousClock.now
        let longest = Mutex(Duration.zero)
        let limiter = ByteRateLimiter(
            bytesPerSecond: 1_000_000, burst: .zero, now: { start },
            sleep: { wait in longest.withLock { $0 = max($0, wait) } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<10 { try await limiter.take(100_000) } }
            }
            try await group.waitForAll()
        }
        // 4 MB at 1 MB/s: the last 100 kB end 4 s after the start, whichever worker sent them.
        #expect(longest.withLock { $0 } == .seconds(4))
    }

    @Test("an idle pause is not saved up beyond the burst")
    func noSavings() async throws {
        let clock = ManualClock()
        let limiter = clock.limiter(1_000_000)
        try await limiter.take(1_000_000)
        clock.sleep(.seconds(60))  // idle
        let before = clock.slept
        for _ in 0..<10 { try await limiter.take(200_000) }
        // 2 MB after the pause: only the 0.25 s burst is free.
        let slept = clock.slept - before
        #expect(slept >= .milliseconds(1_740) && slept <= .milliseconds(1_760), "\(slept)")
    }
}
