import MediaIngest

/// What a ledger — SQLite or PostgreSQL — records for a finished asset: one rule for both.
public enum LedgerRecording {
    /// The row status for `result`, or `nil` when there is nothing to record (skipped, planned).
    ///
    /// A failure whose source file is gone is not retried for ever: with an upload the target confirmed, the file was
    /// archived after READY (the run, or the host it took over from, did it before a later step failed), so the asset
    /// is `done` — the rule ``RunStateStore/reconcileVanished()`` applies to a killed run's rows; without one it
    /// `vanished` (another pipeline archived it, someone moved it) and is processed like a new file if it comes back.
    public static func status(for result: AssetResult) -> String? {
        switch result.status {
        case .done: return "done"
        case .rejected: return "rejected"
        case .skipped, .planned: return nil
        case .failed:
            let asset = result.asset
            guard let path = asset.origin.path, (try? FileStatus.of(path, followLinks: false)) == nil else {
                return "failed"
            }
            return asset.target?.confirmed == true ? "done" : "vanished"
        }
    }
}
