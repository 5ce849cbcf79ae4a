import Foundation

/// Paces the requests one site's API calls make, so a run slows down instead of collecting 429s.
///
/// A token bucket: `rate` requests per minute with a burst of `burst`, shared by every stage talking to the site.
/// `adaptive` (the default) starts unpaced and switches to Wix's documented 200 requests per minute at the first
/// 429; `fixed` paces from the start. A `Retry-After` pauses every request until it has passed, whatever the mode.
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

    /// Creates a pacer.
    public init(_ mode: Mode = .adaptive(requestsPerMinute: RequestPacer.wixLimit)) {
        self.mode = mode
        let perMinute: Int
        switch mode {
        case .adaptive(let limit), .fixed(let limit): perMinute = max(1, limit)
        case .off: perMinute = Int.max / 2
        }
        if case .fixed = mode { paced = true } else { paced = false }
        // Adaptive pacing starts after the server said no: aim 3 % under its limit, so a sliding window never sees more.
        if case .adaptive = mode { rate = Double(perMinute) * 0.97 / 60 } else { rate = Double(perMinute) / 60 }
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
            guard paced else { return }
            tokens = min(burst, tokens + rate * seconds(now - refilled))
            refilled = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            try await wait(.milliseconds(Int64(((1 - tokens) / rate * 1000).rounded(.up))))
        }
    }

    /// A 429 arrived: pace from now on (adaptive), and pause everyone for `retryAfter` seconds when the server said.
    public func throttled(retryAfter: Double?) {
        throttleCount += 1
        if case .adaptive = mode, !paced {
            paced = true
            tokens = 0
            refilled = .now
        }
        if let retryAfter, retryAfter > 0 {
            let until = ContinuousClock.now + .milliseconds(Int64(retryAfter * 1000))
            if pausedUntil.map({ $0 < until }) ?? true { pausedUntil = until }
        }
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
