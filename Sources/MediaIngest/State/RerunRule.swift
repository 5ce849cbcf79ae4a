import Foundation

/// The state machine every ledger keeps — one rule, whichever backend stores the rows.
///
/// | status      | a re-run…                                                                  |
/// |-------------|----------------------------------------------------------------------------|
/// | `done`      | skips it, unless size or modification time changed                          |
/// | `rejected`  | skips it, unless it changed                                                 |
/// | `failed`    | retries it, up to `maxAttempts` runs (then `ingest retry` re-queues it)     |
/// | `in_flight` | a crash left it: retries it with what the last attempt learned (target id)  |
/// | `vanished`  | the file was gone before it could be read; processed anew if it comes back  |
///
/// A backend stores rows and decides atomically; what it decides is this type's: ``skipReason(status:attempts:runID:error:maxAttempts:)``
/// for an unchanged row, ``changed(storedSize:storedMtime:size:mtime:)`` for a row whose file differs, and
/// ``status(for:)`` for the row an asset's result leaves. `StateBackendConformance` (PipelineTesting) holds every
/// backend to it.
public enum RerunRule {
    /// Row statuses.
    public static let done = "done"
    public static let rejected = "rejected"
    public static let failed = "failed"
    public static let inFlight = "in_flight"
    public static let vanished = "vanished"

    /// Whether the file differs from the row (size or modification time in nanoseconds; unknown values count as
    /// unchanged). A changed file starts over: attempts from 1, the row's target and pending upload forgotten.
    public static func changed(storedSize: Int64?, storedMtime: Int64?, size: Int64?, mtime: Int64?) -> Bool {
        (size != nil && storedSize != size) || (mtime != nil && storedMtime != mtime)
    }

    /// The modification time as ledgers store it: nanoseconds since 1970, rounded.
    public static func mtimeNanoseconds(_ date: Date?) -> Int64? {
        date.map { Int64(($0.timeIntervalSince1970 * 1e9).rounded()) }
    }

    /// Why an unchanged row is skipped (done, rejected, failed `maxAttempts` times), or `nil` when it is processed.
    public static func skipReason(
        status: String, attempts: Int, runID: String?, error: String?, maxAttempts: Int
    ) -> String? {
        switch status {
        case done:
            return "done in run \(runID ?? "?")"
        case rejected:
            return "rejected in run \(runID ?? "?"): \(error ?? "")"
        case failed where attempts >= maxAttempts:
            return "failed \(attempts) times (last: \(error ?? "?")); `ingest retry` re-queues it"
        default:
            return nil
        }
    }

    /// The row status for `result`, or `nil` when there is nothing to record (skipped, planned, interrupted).
    ///
    /// A failure whose source file is gone is not retried for ever: with an upload the target confirmed, the file was
    /// archived after READY (the run, or the host it took over from, did it before a later step failed), so the asset
    /// is `done` — the rule ``RunStateStore/reconcileVanished()`` applies to a killed run's rows; without one it
    /// `vanished` (another pipeline archived it, someone moved it) and is processed like a new file if it comes back.
    ///
    /// Work cancelled before it finished (`interrupted`: a second Ctrl-C) is no verdict and no failed attempt: nothing
    /// is recorded, so the row stays in flight with what the attempt checkpointed (a target id, a pending upload), and
    /// the next run — or another host — recovers it as a killed run's row, without spending one of its attempts.
    public static func status(for result: AssetResult) -> String? {
        if result.status == .failed, result.failure?.code == "interrupted" { return nil }
        switch result.status {
        case .done: return done
        case .rejected: return rejected
        // A duplicate found at the target is as good as an upload: re-runs skip it without asking the target again.
        case .skipped: return result.asset.duplicateOf == nil ? nil : done
        case .planned: return nil
        case .failed:
            let asset = result.asset
            guard let path = asset.origin.path, (try? FileStatus.of(path, followLinks: false)) == nil else {
                return failed
            }
            return asset.target?.confirmed == true ? done : vanished
        }
    }

    /// What a reconcile does with an earlier run's in-flight row whose file the source no longer lists: `done` when
    /// its upload was confirmed (`targetStatus` READY: the run archived the file, then died), else `failed` with
    /// ``vanishedCode`` and ``vanishedMessage``.
    public static let vanishedCode = "source_vanished"
    public static let vanishedMessage =
        "the source file disappeared during an interrupted run before its upload was confirmed"

    /// What ledgers keep of an asset's sidecars: a JSON array of their relative paths (`nil` without any).
    public static func sidecarList(_ asset: Asset) -> String? {
        guard !asset.sidecars.isEmpty else { return nil }
        return JSONValue.array(asset.sidecars.map { .string($0.relativePath) }).jsonText(pretty: false)
    }
}
