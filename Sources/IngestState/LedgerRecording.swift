import MediaIngest

/// What a ledger — SQLite or PostgreSQL — records for a finished asset: one rule for both.
public enum LedgerRecording {
    /// The row status for `result`, or `nil` when there is nothing to record (skipped, planned).
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
        case .done: return "done"
        case .rejected: return "rejected"
        // A duplicate found at the target is as good as an upload: re-runs skip it without asking the target again.
        case .skipped: return result.asset.duplicateOf == nil ? nil : "done"
        case .planned: return nil
        case .failed:
            let asset = result.asset
            guard let path = asset.origin.path, (try? FileStatus.of(path, followLinks: false)) == nil else {
                return "failed"
            }
            return asset.target?.confirmed == true ? "done" : "vanished"
        }
    }

    /// What both ledgers keep of an asset's sidecars: a JSON array of their relative paths (`nil` without any).
    public static func sidecarList(_ asset: Asset) -> String? {
        guard !asset.sidecars.isEmpty else { return nil }
        return JSONValue.array(asset.sidecars.map { .string($0.relativePath) }).jsonText(pretty: false)
    }
}
