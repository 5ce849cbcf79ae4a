import Synchronization

/// A value a stage sets in `prepare` and reads from concurrent `process` calls (a run's shared index, say).
final class Holder<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ new: Value?) { value.withLock { $0 = new } }
    func get() -> Value? { value.withLock { $0 } }
}
