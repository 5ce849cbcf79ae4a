import Foundation

/// What a run's store supplies to its sources and stages besides the ledger (``RunStateStore/services``), reached
/// through ``PipelineContext/services``. Empty for a store that offers neither.
public struct StateServices: Sendable {
    /// The pipeline's shared work queue (`ingest enqueue`, `source.queue`).
    public var workQueue: (any SharedWorkQueue)?
    /// A request budget shared with the other hosts (one token bucket per Wix site, a byte schedule).
    public var requestBudget: (any SharedRequestBudget)?

    public init(workQueue: (any SharedWorkQueue)? = nil, requestBudget: (any SharedRequestBudget)? = nil) {
        self.workQueue = workQueue
        self.requestBudget = requestBudget
    }

    /// No services.
    public static let none = StateServices()
}

/// Items added to a pipeline from outside (`ingest enqueue NAME URL…`) and handed to whichever host's run asks.
public protocol SharedWorkQueue: Sendable {
    /// Up to `limit` queued items (paths or URLs) that no run has settled yet, in the order they were queued, after
    /// the item with sequence number `after`. Returns each with its sequence number.
    func pendingItems(after: Int64, limit: Int) async throws -> [(sequence: Int64, item: String)]
}

/// A rate budget several hosts share: one token bucket per key (a Wix site), kept in the shared database.
public protocol SharedRequestBudget: Sendable {
    /// Takes one request's token from the bucket `key` refilled at `perMinute`; returns how long the caller must wait
    /// before sending (zero when a token was there).
    func take(key: String, perMinute: Int) async throws -> Duration
    /// Notes that the server answered 429 for `key`: every host paces from now on (adaptive pacing).
    func markThrottled(key: String) async throws
    /// Whether any host has seen a 429 for `key` (adaptive pacing starts shared pacing then).
    func isThrottled(key: String) async throws -> Bool

    /// Whether ``reserveBytes(key:bytes:bytesPerSecond:burst:)`` is implemented (a bandwidth limit shared by hosts).
    var sharesBytes: Bool { get }

    /// Reserves `bytes` on the byte schedule `key` shares between hosts at `bytesPerSecond`; returns how long the
    /// caller must wait before sending them (zero when the schedule is within `burst` of now).
    func reserveBytes(key: String, bytes: Int64, bytesPerSecond: Int64, burst: Duration) async throws -> Duration
}

extension SharedRequestBudget {
    public var sharesBytes: Bool { false }
    public func reserveBytes(
        key: String, bytes: Int64, bytesPerSecond: Int64, burst: Duration
    ) async throws
        -> Duration
    { .zero }
}
