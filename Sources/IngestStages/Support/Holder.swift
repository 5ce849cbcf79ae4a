import Synchronization

/// A value a stage sets in `prepare` and reads from concurrent `process` calls (a run's shared index, say).
package final class Holder<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    package init() {}

    package func set(_ new: Value?) { value.withLock { $0 = new } }
    package func get() -> Value? { value.withLock { $0 } }
}
