import MediaIngest
import Synchronization

/// The claims a run's workers are working under, each with what to do if it is lost: the heartbeat, which renews
/// the run's leases every third of a lease, compares the rows it renewed with these and calls the handlers of the
/// claims it no longer holds — so a host frozen during a long upload and woken after another took its file stops the
/// transfer at once, instead of finishing it and deleting the copy.
final class ClaimWatchers: Sendable {
    private struct Entry {
        let token: UInt64
        let onLost: @Sendable (LedgerClaimLost) -> Void
    }

    private struct State {
        var entries: [String: [Entry]] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Registers a handler for the claim on `identity`.
    func watch(_ identity: String, onLost: @escaping @Sendable (LedgerClaimLost) -> Void) -> ClaimWatch {
        let token = state.withLock { state -> UInt64 in
            state.next += 1
            state.entries[identity, default: []].append(Entry(token: state.next, onLost: onLost))
            return state.next
        }
        return ClaimWatch { [weak self] in self?.remove(identity, token: token) }
    }

    private func remove(_ identity: String, token: UInt64) {
        state.withLock { state in
            state.entries[identity]?.removeAll { $0.token == token }
            if state.entries[identity]?.isEmpty == true { state.entries.removeValue(forKey: identity) }
        }
    }

    /// The identities watched now.
    var watched: Set<String> { state.withLock { Set($0.entries.keys) } }

    /// Calls (once) the handlers of `identity` with `loss`, and forgets them.
    func lost(_ identity: String, _ loss: LedgerClaimLost) {
        let entries = state.withLock { $0.entries.removeValue(forKey: identity) ?? [] }
        for entry in entries { entry.onLost(loss) }
    }
}
