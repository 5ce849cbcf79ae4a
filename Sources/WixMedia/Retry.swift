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

    /// How long Wix's listings may take to show a file just uploaded (they are not promised to be read-your-writes):
    /// a lookup after a lost answer that finds nothing looks once more after this wait before it concludes.
    public var listingLag: Duration

    public init(
        maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20),
        listingLag: Duration = .seconds(2)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.listingLag = listingLag
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
///
/// The budget grows with the run — `base` plus `perAsset` for every asset the run has sent so far — so a long run
/// that meets a steady trickle of 5xx is not cut off at a constant count, while a run whose endpoint is dead stops
/// after a few dozen attempts. A 429 that says when to come back (`Retry-After`) is pacing, not a failure: it spends
/// nothing.
public final class RetryBudget: Sendable {
    private struct State {
        var spent = 0
        var assets = 0
        var byKind: [String: Int] = [:]
        var last = ""
    }

    private let state = Mutex(State())
    /// Retries allowed before any asset was counted.
    public let base: Int
    /// Retries each counted asset adds.
    public let perAsset: Double

    /// A fixed budget of `total` retries.
    public convenience init(_ total: Int) { self.init(base: total, perAsset: 0) }

    /// A budget of `base + perAsset × assets counted`.
    public init(base: Int, perAsset: Double) {
        self.base = max(0, base)
        self.perAsset = max(0, perAsset)
    }

    /// One more asset takes part in the run (raises the budget by ``perAsset``).
    public func countAsset() { state.withLock { $0.assets += 1 } }

    /// The budget now.
    public var total: Int { state.withLock { base + Int(perAsset * Double($0.assets)) } }

    /// Takes one retry for `kind` (a failure code such as `http_503`); `false` when none are left. `detail` becomes
    /// the summary's "last" whether or not the retry was granted, so the message that stops a run names the error
    /// it was refused for.
    public func take(kind: String = "error", detail: String = "") -> Bool {
        state.withLock { state in
            if !detail.isEmpty { state.last = detail }
            guard state.spent < base + Int(perAsset * Double(state.assets)) else { return false }
            state.spent += 1
            state.byKind[kind, default: 0] += 1
            return true
        }
    }

    /// Retries spent so far.
    public var spent: Int { state.withLock { $0.spent } }

    /// The retries spent, by kind (`http_503`, `connection`…).
    public var spentByKind: [String: Int] { state.withLock { $0.byKind } }

    /// What was spent, for the message that stops the run: "120 retries (budget 120 for 80 assets): http_503 ×90,
    /// connection ×30; last: …".
    public var summary: String {
        state.withLock { state in
            let kinds = state.byKind.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map {
                "\($0.key) ×\($0.value)"
            }
            let total = base + Int(perAsset * Double(state.assets))
            return
                "\(state.spent) retries spent (budget \(total) for \(state.assets) asset\(state.assets == 1 ? "" : "s"))"
                + (kinds.isEmpty ? "" : ": \(kinds.joined(separator: ", "))")
                + (state.last.isEmpty ? "" : "; last: \(state.last)")
        }
    }
}
