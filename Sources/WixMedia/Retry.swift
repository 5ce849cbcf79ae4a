import Foundation
import Synchronization

/// How requests are retried: capped exponential backoff with full jitter, honouring `Retry-After`.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// Delay before the first retry (doubled each time, then capped).
    public var baseDelay: Duration
    /// Largest delay between attempts (also caps `Retry-After`).
    public var maxDelay: Duration

    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The pause before attempt `attempt + 1` (attempt counts from 1).
    public func delay(afterAttempt attempt: Int, retryAfter: Double?) -> Duration {
        if let retryAfter, retryAfter >= 0 { return min(.milliseconds(Int64(retryAfter * 1000)), maxDelay) }
        let exponent = min(attempt - 1, 20)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [ceiling/2, ceiling].
        let milliseconds = Double(ceiling.components.seconds) * 1000 + Double(ceiling.components.attoseconds) / 1e15
        return .milliseconds(Int64(milliseconds * Double.random(in: 0.5...1.0)))
    }
}

/// Retries one run may spend in total. When a dead endpoint eats it, the run ends with a clear message instead of
/// every asset retrying to its own limit.
public final class RetryBudget: Sendable {
    private let remaining: Mutex<Int>
    /// The budget it started with.
    public let total: Int

    public init(_ total: Int) {
        self.total = total
        remaining = Mutex(total)
    }

    /// Takes one retry; `false` when none are left.
    public func take() -> Bool {
        remaining.withLock { value in
            guard value > 0 else { return false }
            value -= 1
            return true
        }
    }

    /// Retries spent so far.
    public var spent: Int { total - remaining.withLock { $0 } }
}
