import Foundation
import MediaIngest

/// Paces the requests one site's API calls make, so a run slows down instead of collecting 429s.
///
/// A token bucket: `rate` requests per minute with a burst of `burst`, shared by every stage talking to the site.
/// `adaptive` (the default) starts unpaced and switches to Wix's documented 200 requests per minute at the first
/// 429; `fixed` paces from the start. A `Retry-After` pauses every request until it has passed, whatever the mode.
///
/// With a ``SharedRequestBudget`` (a PostgreSQL ledger several hosts share) the bucket is the shared one: every host
/// takes its tokens from the same row, so N hosts together stay under the rate one host would keep; under `adaptive`,
/// a 429 seen by any host starts the pacing of all.
public actor RequestPacer {
    /// How requests are paced.
    public enum Mode: Sendable, Hashable {
        /// No pacing until the first 429, then `requestsPerMinute` for the rest of the run.
        case adaptive(requestsPerMinute: Int)
        /// At most `requestsPerMinute`, from the first request.
        case fixed(requestsPerMinute: Int)
        /// No pacing at all (Retry-After is still honoured).
        case off
    }

    /// Wix's documented limit: 200 requests per minute per app instance.
    public static let wixLimit = 200

    private let mode: Mode
    private var paced: Bool
    private var rate: Double  // tokens per second
    private var burst: Double
    private var tokens: Double
    private var refilled: ContinuousClock.Instant
    private var pausedUntil: ContinuousClock.Instant?
    /// Requests that waited, and for how long in total (for the run report).
    public private(set) var waits = 0
    public private(set) var waited: Duration = .zero
    /// 429s seen.
    public private(set) var throttleCount = 0
    private let shared: (any SharedRequestBudget)?
    private let sharedKey: String
    private var sharedCheckedAt: ContinuousClock.Instant?
    /// The rate the mode allows (tokens per second): sustained 429s without `Retry-After` lower ``rate`` below it, and
    /// quiet time brings it back.
    private let ceiling: Double
    private var lastThrottle: ContinuousClock.Instant?
    private var lastRaise: ContinuousClock.Instant = .now
    private var lastDecrease: ContinuousClock.Instant?
    /// 429s without `Retry-After` in a row (none for ten seconds ends the streak).
    private var streak = 0
    /// At most one halving per this span: the 429s of one burst of requests in flight are one signal, not many.
    private let decreaseInterval: Duration

    /// Creates a pacer.
    /// - Parameters:
    ///   - shared: a budget other hosts share, and the key of this site in it.
    ///   - decreaseInterval: the least time between two decreases of the rate.
    public init(
        _ mode: Mode = .adaptive(requestsPerMinute: RequestPacer.wixLimit),
        shared: (any SharedRequestBudget)? = nil, sharedKey: String = "", decreaseInterval: Duration = .seconds(2)
    ) {
        self.decreaseInterval = decreaseInterval
        self.mode = mode
        self.shared = shared
        self.sharedKey = sharedKey
        let perMinute: Int
        switch mode {
        case .adaptive(let limit), .fixed(let limit): perMinute = max(1, limit)
        case .off: perMinute = Int.max / 2
        }
        if case .fixed = mode { paced = true } else { paced = false }
        // Adaptive pacing starts after the server said no: aim 3 % under its limit, so a sliding window never sees more.
        if case .adaptive = mode { rate = Double(perMinute) * 0.97 / 60 } else { rate = Double(perMinute) / 60 }
        ceiling = rate
        // A burst of one: a window that counts every request must never see two at once beyond the rate.
        burst = 1
        tokens = burst
        refilled = .now
    }

    /// Waits until a request may go.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            if let until = pausedUntil, until > now {
                try await wait(until - now)
                continue
            }
            pausedUntil = nil
            if let shared, try await sharedPacing(shared) {
                let wait = try await shared.take(key: sharedKey, perMinute: Int((rate * 60).rounded()))
                if wait > .zero { try await self.wait(wait) }
                return
            }
            guard paced else { return }
            recover(now)
            tokens = min(burst, tokens + rate * seconds(now - refilled))
            refilled = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            try await wait(.milliseconds(Int64(((1 - tokens) / rate * 1000).rounded(.up))))
        }
    }

    /// Whether requests take their tokens from the shared budget: always under `fixed`, under `adaptive` once this
    /// host or another saw a 429 (asked of the database at most every 2 seconds while unpaced), never when `off`.
    private func sharedPacing(_ shared: any SharedRequestBudget) async throws -> Bool {
        switch mode {
        case .off: return false
        case .fixed: return true
        case .adaptive:
            if paced { return true }
            let now = ContinuousClock.now
            if let checked = sharedCheckedAt, now - checked < .seconds(2) { return false }
            sharedCheckedAt = now
            if try await shared.isThrottled(key: sharedKey) { paced = true }
            return paced
        }
    }

    /// A 429 arrived: pace from now on (adaptive), and pause everyone for `retryAfter` seconds when the server said.
    ///
    /// A 429 that does not say when to come back (Wix documents neither the status nor `Retry-After`) pauses everyone
    /// for a backoff that doubles with each such 429 in a row (0.5 s up to 30 s: a window the server counts over may
    /// stay full for a while, whatever the pace), and — while already paced — lowers the rate by a fifth (at most once
    /// per `decreaseInterval`), down to ``minimumRequestsPerMinute``. Ten quiet seconds end the streak and raise the
    /// rate by a tenth, back up to the mode's (multiplicative decrease, slow recovery).
    public func throttled(retryAfter: Double?) async {
        if let shared, case .adaptive = mode, !paced { try? await shared.markThrottled(key: sharedKey) }
        throttleCount += 1
        let now = ContinuousClock.now
        if let lastThrottle, now - lastThrottle >= .seconds(10) { streak = 0 }
        if case .off = mode {
        } else if !paced {
            paced = true
        } else if retryAfter == nil, lastDecrease.map({ now - $0 >= decreaseInterval }) ?? true {
            rate = max(minimumRequestsPerMinute / 60, rate * 0.8)
            lastDecrease = now
        }
        if case .off = mode {
        } else {
            tokens = 0
            refilled = now
            lastThrottle = now
            lastRaise = now
        }
        var pause = retryAfter ?? 0
        if retryAfter == nil {
            streak += 1
            pause = min(30, 0.5 * Double(1 << min(streak - 1, 6)))
        }
        if pause > 0 {
            let until = now + .milliseconds(Int64(pause * 1000))
            if pausedUntil.map({ $0 < until }) ?? true { pausedUntil = until }
        }
    }

    /// The slowest 429s without `Retry-After` pace a run: a fifth of the mode's rate, and never under 6 a minute.
    public var minimumRequestsPerMinute: Double { max(6, ceiling * 60 / 5) }

    /// The pace now, in requests per minute (lower than the mode's while 429s without `Retry-After` keep coming).
    public var requestsPerMinute: Double { rate * 60 }

    /// Raises a lowered rate by a tenth for every ten seconds without a 429.
    private func recover(_ now: ContinuousClock.Instant) {
        guard rate < ceiling, now - lastRaise >= .seconds(10) else { return }
        if let lastThrottle, now - lastThrottle < .seconds(10) { return }
        rate = min(ceiling, rate * 1.1)
        lastRaise = now
    }

    /// `true` once requests are paced.
    public var isPacing: Bool { paced }

    private func wait(_ duration: Duration) async throws {
        waits += 1
        waited += duration
        try await Task.sleep(for: duration)
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
