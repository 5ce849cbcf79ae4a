import Foundation
import MediaIngest
import Synchronization
import Testing

/// `KeyedLock`: what `upload.wix` holds while it looks for a duplicate and uploads, per content.
@Suite("KeyedLock")
struct KeyedLockTests {
    /// How many sections of each key run at once, at most.
    final class Overlap: Sendable {
        private let state = Mutex<(current: [String: Int], most: [String: Int], total: Int)>(([:], [:], 0))
        func enter(_ key: String) {
            state.withLock {
                $0.current[key, default: 0] += 1
                $0.most[key] = max($0.most[key] ?? 0, $0.current[key]!)
                $0.total = max($0.total, $0.current.values.reduce(0, +))
            }
        }
        func leave(_ key: String) { state.withLock { $0.current[key, default: 0] -= 1 } }
        var most: [String: Int] { state.withLock { $0.most } }
        var mostAtOnce: Int { state.withLock { $0.total } }
    }

    /// A value tasks share.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
        var current: Value { value.withLock { $0 } }
    }

    @Test("one section per key at a time; other keys side by side")
    func exclusion() async throws {
        let lock = KeyedLock()
        let overlap = Overlap()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let key = "k\(index % 4)"
                group.addTask {
                    try await lock.withLock(key) {
                        overlap.enter(key)
                        try await Task.sleep(for: .milliseconds(5))
                        overlap.leave(key)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(overlap.most == ["k0": 1, "k1": 1, "k2": 1, "k3": 1])
        #expect(overlap.mostAtOnce > 1, "sections of different keys overlapped")
    }

    /// Short sections on one key from many tasks: each release races the next acquire. A waiter that registers just
    /// after the holder found the queue empty would wait forever (it did, before the check and the registration were
    /// made one step).
    @Test("thousands of short sections on one key all run", .timeLimit(.minutes(1)))
    func handOffRace() async throws {
        let lock = KeyedLock()
        let count = Shared(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<5_000 {
                        try await lock.withLock("same") { count.update { $0 += 1 } }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(count.current == 40_000)
    }

    @Test("a cancelled waiter leaves the queue; the key passes on to the next")
    func cancellation() async throws {
        let lock = KeyedLock()
        let order = Shared<[String]>([])
        let (holding, release) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await lock.withLock("k") {
                order.update { $0.append("holder") }
                for await _ in holding { break }
            }
        }
        while order.current.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
        let cancelled = Task { try await lock.withLock("k") { order.update { $0.append("cancelled") } } }
        try await Task.sleep(for: .milliseconds(20))
        let next = Task { try await lock.withLock("k") { order.update { $0.append("next") } } }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        release.yield()
        try await holder.value
        try await next.value
        #expect(order.current == ["holder", "next"])
    }
}
