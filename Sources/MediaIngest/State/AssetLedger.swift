import Foundation

/// Remembers assets across runs so that re-runs skip what is done and retry what failed.
///
/// The runner calls ``begin(_:)`` before an asset enters the pipeline and ``record(_:)`` when it leaves; rows are
/// keyed by ``Asset/ledgerKey``. Calls come from every worker at once.
/// Stages call ``checkpoint(_:)`` (through ``StageContext/checkpoint(_:)``) when they learn something a
/// crash must not lose, such as the target id right after an upload. The SQLite ledger in `IngestState`
/// implements it; with no ledger every run processes everything. What is kept, and what a re-run does with it, is
/// ``RerunRule``'s.
public protocol AssetLedger: Sendable {
    /// Decides whether a newly listed asset (origin, size, modification time as the source found them) needs
    /// processing, and marks it in flight if so.
    /// - Throws: when the ledger cannot be read or written; the asset is then recorded as failed.
    func begin(_ asset: Asset) async throws -> LedgerDecision

    /// Saves intermediate facts (target id, upload checksum) of an asset still in the pipeline.
    func checkpoint(_ asset: Asset) async throws

    /// Saves the final result of an asset.
    func record(_ result: AssetResult) async throws

    /// Confirms, right before a side effect that must happen once (moving the source to the archive), that this run
    /// still holds the asset. A ledger shared by several hosts throws ``LedgerClaimLost`` when another host took the
    /// asset over (this process was frozen past its lease); a local ledger has nothing to check (the default).
    func confirmClaim(_ asset: Asset) async throws

    /// Watches this run's claim on the asset with `ledgerKey` while its stages run: `onLost` is called (at most once,
    /// from any thread) as soon as the ledger learns another host took it over — during a long transfer, not only at
    /// the next step — so the runner cancels the work at once. `nil` when the ledger has no claims to lose (a local
    /// ledger: the default). End the watch before recording the asset's result.
    func watchClaim(_ ledgerKey: String, onLost: @escaping @Sendable (LedgerClaimLost) -> Void) -> ClaimWatch?

    /// The target ids of the pipeline's finished uploads whose stored bytes had this SHA-256 (the bytes sent, after
    /// stripping — ``TargetRecord/sentSHA256``), newest first: what `state.dedupe: "target"` checks the target's
    /// listing against when the target's own hash cannot be compared. A shared ledger answers for every host.
    /// Default: none.
    func uploads(ofContent sha256: String, target: String) async throws -> [String]

    /// The target id recorded for the asset with this ledger key (to link a Live Photo's halves when one was done in
    /// an earlier run). Default `nil`.
    func recordedTargetID(forKey ledgerKey: String) async throws -> String?
}

extension AssetLedger {
    public func uploads(ofContent sha256: String, target: String) async throws -> [String] { [] }
    public func recordedTargetID(forKey ledgerKey: String) async throws -> String? { nil }
    public func confirmClaim(_ asset: Asset) async throws {}
    public func watchClaim(_ ledgerKey: String, onLost: @escaping @Sendable (LedgerClaimLost) -> Void) -> ClaimWatch? {
        nil
    }
}

/// Thrown by a shared ledger when this run no longer holds an asset's claim: its lease ran out (the process was
/// frozen or cut off from the database) and another host took the asset over. The asset must not be uploaded,
/// archived or recorded by this run; it fails here with code `claim_lost` and the other host finishes it.
public struct LedgerClaimLost: AssetFailureDescribing, CustomStringConvertible {
    /// The asset's ledger key.
    public var identity: String
    /// Who holds it now (`host (run …)`), when known.
    public var holder: String?
    /// The target id the row carries now (the holder's upload, or one it adopted), when known.
    public var currentTargetID: String?

    public init(identity: String, holder: String?, currentTargetID: String? = nil) {
        self.identity = identity
        self.holder = holder
        self.currentTargetID = currentTargetID
    }

    public var failureCode: AssetFailure.Code { .claimLost }
    public var failureMessage: String { description }

    public var description: String {
        "the claim on \(identity.displaySafe) was lost (lease expired)\(holder.map { "; now held by \($0.displaySafe)" } ?? "")"
    }
}

/// A watch on one claim (``AssetLedger/watchClaim(_:onLost:)``); ``end()`` stops it (also when released).
public final class ClaimWatch: Sendable {
    private let ending: @Sendable () -> Void

    public init(end: @escaping @Sendable () -> Void) { ending = end }

    /// Stops watching; `onLost` is not called after this returns.
    public func end() { ending() }

    deinit { ending() }
}

/// What the ledger says about an item.
public enum LedgerDecision: Sendable {
    /// Process it; `recovery` says what an earlier, unfinished attempt left behind.
    case process(recovery: Asset.Recovery?)
    /// Skip it, with a reason for the report (`done in run …`).
    case skip(reason: String)
}

extension StageContext {
    /// Saves intermediate facts about `asset` in the ledger, if the run has one. Call it right after a
    /// side effect a crash must not repeat (an upload that returned a file id).
    /// - Throws: when the ledger cannot be written; treat it as a failure of the asset.
    public func checkpoint(_ asset: Asset) async throws {
        try await ledger?.checkpoint(asset)
    }
}
