import Foundation

/// Decides which requests get a fault: a seeded random generator (SplitMix64), so a test run with a given seed and
/// request order sees the same faults every time. Also keeps the per-key request window for the rate limit.
actor FaultInjector {
    private(set) var settings: FaultSettings
    private var state: UInt64
    private var window: [String: [Date]] = [:]
    private var alternate = false

    init(settings: FaultSettings) {
        self.settings = settings
        self.state = settings.seed
    }

    /// Replaces the settings and reseeds.
    func update(_ settings: FaultSettings) {
        self.settings = settings
        self.state = settings.seed
        window = [:]
        alternate = false
    }

    /// A uniform number in [0, 1).
    func roll() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// What to do with a request before handling it.
    enum Verdict: Sendable {
        case proceed
        case serverError(Int)
        case rateLimited(retryAfter: Int)
    }

    /// Rolls the server-error and 429 dice, and applies the requests-per-minute window for `key` (API calls only;
    /// `nil` for upload-host requests).
    func admit(key: String?, now: Date) -> Verdict {
        if let limit = settings.requestsPerMinute, let key {
            let span = settings.rateLimitWindowSeconds
            var times = window[key, default: []].filter { now.timeIntervalSince($0) < span }
            if times.count >= limit {
                let oldest = times.first ?? now
                window[key] = times
                return .rateLimited(retryAfter: max(1, Int((span - now.timeIntervalSince(oldest)).rounded(.up))))
            }
            times.append(now)
            window[key] = times
        }
        if settings.serverErrorRate > 0, roll() < settings.serverErrorRate {
            alternate.toggle()
            return .serverError(alternate ? 500 : 503)
        }
        if settings.rateLimitRate > 0, roll() < settings.rateLimitRate {
            return .rateLimited(retryAfter: settings.retryAfterSeconds)
        }
        return .proceed
    }

    /// For an upload: after how many body bytes to reset the connection, or `nil` for no reset.
    func resetPoint(expectedBytes: Int64?) -> Int64? {
        guard settings.connectionResetRate > 0, roll() < settings.connectionResetRate else { return nil }
        let total = max(expectedBytes ?? 65_536, 1)
        return Int64(Double(total) * roll() * 0.9)
    }

    /// Whether an upload's answer is lost (after the file is stored).
    func responseLost() -> Bool {
        settings.lostResponseRate > 0 && roll() < settings.lostResponseRate
    }

    /// Whether a webhook event is dropped instead of delivered.
    func webhookLost() -> Bool { settings.webhookLossRate > 0 && roll() < settings.webhookLossRate }

    /// Whether a webhook event is delivered twice.
    func webhookDuplicated() -> Bool { settings.webhookDuplicateRate > 0 && roll() < settings.webhookDuplicateRate }

    /// Whether a file's processing fails.
    func processingFails() -> Bool {
        settings.processingFailureRate > 0 && roll() < settings.processingFailureRate
    }

    var latency: Duration { .milliseconds(settings.latencyMilliseconds) }
}
