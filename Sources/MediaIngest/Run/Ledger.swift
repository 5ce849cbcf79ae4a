import Foundation

/// Remembers assets across runs so that re-runs skip what is done and retry what failed.
///
/// The runner calls ``begin(_:)`` before an asset enters the pipeline and ``record(_:)`` when it leaves; rows are
/// keyed by ``Asset/ledgerKey``. Calls come from every worker at once.
/// Stages call ``checkpoint(_:)`` (through ``StageContext/checkpoint(_:)``) when they learn something a
/// crash must not lose, such as the target id right after an upload. The SQLite ledger in `IngestState`
/// implements it; with no ledger every run processes everything.
public protocol AssetLedger: Sendable {
    /// Decides whether a newly listed asset (origin, size, modification time as the source found them) needs
    /// processing, and marks it in flight if so.
    /// - Throws: when the ledger cannot be read or written; the asset is then recorded as failed.
    func begin(_ asset: Asset) async throws -> LedgerDecision

    /// Saves intermediate facts (target id, upload checksum) of an asset still in the pipeline.
    func checkpoint(_ asset: Asset) async throws

    /// Saves the final result of an asset.
    func record(_ result: AssetResult) async throws
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
