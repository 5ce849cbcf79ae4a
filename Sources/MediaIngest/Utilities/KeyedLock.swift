import Synchronization

/// Runs sections one at a time per key, and sections of different keys side by side: two workers holding files of
/// the same content upload it once (`state.dedupe: "target"`), files of different content are not held up.
///
/// Waiters of a key are served first in, first out; a cancelled waiter throws `CancellationError` and leaves the queue.
public final class KeyedLock: Sendable {
    private struct State {
        var held: [String: [UInt64: CheckedContinuation<Void, any Error>]] = [:]
        var order: [String: [UInt64]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` while holding `key`.
    public func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        try await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64? in
            if state.held[key] == nil {
                state.held[key] = [:]
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        enum Turn { case wait, taken, cancelled }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked again in the same step as the waiter is queued: the holder may have released the key since
                // (finding no one waiting), and nobody would ever resume a waiter queued after that.
                let turn = state.withLock { state -> Turn in
                    if Task.isCancelled { return .cancelled }
                    guard state.held[key] != nil else {
                        state.held[key] = [:]
                        return .taken
                    }
                    state.held[key, default: [:]][id] = continuation
                    state.order[key, default: []].append(id)
                    return .wait
                }
                switch turn {
                case .wait: break
                case .taken: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                state.order[key]?.removeAll { $0 == id }
                return state.held[key]?.removeValue(forKey: id)
            }
            waiting?.resume(throwing: CancellationError())
        }
    }

    private func release(_ key: String) {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard var queue = state.order[key], !queue.isEmpty else {
                state.held[key] = nil
                state.order[key] = nil
                return nil
            }
            let id = queue.removeFirst()
            state.order[key] = queue
            return state.held[key]?.removeValue(forKey: id)
        }
        next?.resume()
    }
}
