import Synchronization

/// What a run keeps of its assets while they finish, from every worker at once: counts and bytes for all of them,
/// the record of every problem (rejected, failed), and the records of the others only up to a limit — so a run over
/// 200,000 files holds a few thousand records, not 200,000. The manifest has every line.
final class RunTally: Sendable {
    struct State {
        var counts: [AssetStatus: Int] = [:]
        var bytesDone: Int64 = 0
        var kept: [AssetRecord] = []
        var keptOthers = 0
        var omitted = 0
        var summary = RunSummary()
    }

    private let state = Mutex(State())
    /// How many done, skipped or planned records are listed at most.
    let limit: Int
    /// When the run started (the summary's time line counts seconds from it).
    let start = ContinuousClock.now

    init(limit: Int) { self.limit = max(0, limit) }

    func add(_ record: AssetRecord) {
        let (seconds, _) = (ContinuousClock.now - start).components
        state.withLock { state in
            state.summary.add(record, second: Int(seconds))
            state.counts[record.status, default: 0] += 1
            if record.status == .done { state.bytesDone += record.size ?? 0 }
            switch record.status {
            case .rejected, .failed:
                state.kept.append(record)
            case .done, .skipped, .planned:
                if state.keptOthers < limit {
                    state.kept.append(record)
                    state.keptOthers += 1
                } else {
                    state.omitted += 1
                }
            }
        }
    }

    /// Every asset counted so far.
    var total: Int { state.withLock { $0.counts.values.reduce(0, +) } }

    /// The final numbers, records in source order.
    func snapshot() -> State {
        var copy = state.withLock { $0 }
        copy.kept.sort { $0.id < $1.id }
        return copy
    }
}
