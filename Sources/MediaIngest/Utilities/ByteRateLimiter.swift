import Synchronization

/// Holds the bytes a run sends to `bytesPerSecond` (`maxBytesPerSecond` on the upload stages), across every worker
/// that sends through it — and, given a ``SharedRequestBudget``, across every host of a shared ledger.
///
/// A generic cell rate algorithm: each take reserves its bytes at the end of the schedule (the *theoretical arrival
/// time*, advanced by `bytes / rate`), and waits until that reservation lies within `burst` of now. The average rate
/// over any long stretch is the limit; no more than `burst` seconds' worth goes at once; a take that waits holds no
/// lock. With a shared budget, the host reserves in grants of `grant` bytes from the database's schedule for the key,
/// then spends them locally.
public final class ByteRateLimiter: RunResource {
    /// The limit.
    public let bytesPerSecond: Int64
    /// How far ahead of the schedule a burst may go.
    public let burst: Duration
    private let shared: (any SharedRequestBudget)?
    private let sharedKey: String
    private let now: @Sendable () -> ContinuousClock.Instant
    private let sleep: @Sendable (Duration) async throws -> Void

    private struct State {
        /// When the bytes reserved so far are all due.
        var scheduled: ContinuousClock.Instant?
        /// Bytes granted by the shared budget and not spent yet.
        var granted: Int64 = 0
    }

    private let state = Mutex(State())

    /// A limiter of `bytesPerSecond` (at least 1), with bursts of `burst`.
    /// - Parameters:
    ///   - bytesPerSecond: the limit.
    ///   - burst: how far ahead of the schedule a sender may be (a quarter of a second's worth by default).
    ///   - shared: the shared ledger's budget, so several hosts share the limit (`nil`: this process only).
    ///   - sharedKey: what the hosts share it by.
    ///   - now: the clock (tests pass their own).
    ///   - sleep: how to wait (tests pass their own).
    public init(
        bytesPerSecond: Int64, burst: Duration = .milliseconds(250), shared: (any SharedRequestBudget)? = nil,
        sharedKey: String = "bandwidth",
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.bytesPerSecond = max(1, bytesPerSecond)
        self.burst = burst
        self.shared = shared
        self.sharedKey = sharedKey
        self.now = now
        self.sleep = sleep
    }

    public func close() async {}

    /// How long `bytes` take at the limit.
    func duration(of bytes: Int64) -> Duration {
        .nanoseconds(Int64((Double(bytes) / Double(bytesPerSecond) * 1e9).rounded()))
    }

    /// The bytes one reservation from the shared budget covers: a tenth of a second's worth, at least 64 KiB.
    var grant: Int64 { max(65_536, bytesPerSecond / 10) }

    /// Waits until `bytes` may be sent.
    /// - Throws: `CancellationError` when the task is cancelled while waiting; the shared budget's errors.
    public func take(_ bytes: Int) async throws {
        guard bytes > 0 else { return }
        if let shared, shared.sharesBytes {
            try await takeShared(Int64(bytes), from: shared)
            return
        }
        let wait = state.withLock { state -> Duration in
            let current = now()
            let start = max(state.scheduled ?? current, current)
            let end = start + duration(of: Int64(bytes))
            state.scheduled = end
            return end - current - burst
        }
        if wait > .zero { try await sleep(wait) }
    }

    /// Spends from local grants, reserving new ones from the shared schedule as they run out.
    private func takeShared(_ bytes: Int64, from shared: any SharedRequestBudget) async throws {
        var needed = bytes
        while needed > 0 {
            let covered = state.withLock { state -> Int64 in
                let used = min(state.granted, needed)
                state.granted -= used
                return used
            }
            needed -= covered
            guard needed > 0 else { return }
            let amount = max(grant, needed)
            let wait = try await shared.reserveBytes(
                key: sharedKey, bytes: amount, bytesPerSecond: bytesPerSecond, burst: burst)
            state.withLock { $0.granted += amount }
            if wait > .zero { try await sleep(wait) }
        }
    }
}
