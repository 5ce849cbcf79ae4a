import Synchronization
import Testing

@testable import MediaIngest

@Suite("WorkQueue")
struct WorkQueueTests {
    @Test("first in, first out; finish lets consumers drain, then ends them")
    func order() async {
        let queue = WorkQueue<Int>(capacity: 8)
        for value in 0..<5 { #expect(await queue.push(value)) }
        queue.finish()
        #expect(await queue.push(99) == false, "no pushes after finish")
        var seen: [Int] = []
        while let value = await queue.pop() { seen.append(value) }
        #expect(seen == [0, 1, 2, 3, 4])
        #expect(await queue.pop() == nil)
    }

    @Test("a full queue holds the producer until consumers drain it to half")
    func backpressure() async throws {
        let queue = WorkQueue<Int>(capacity: 4)
        let pushed = Atomic<Int>(0)
        let producer = Task {
            for value in 0..<10 {
                guard await queue.push(value) else { return }
                pushed.add(1, ordering: .relaxed)
            }
            queue.finish()
        }
        try await waitUntil { pushed.load(ordering: .relaxed) == 4 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(pushed.load(ordering: .relaxed) == 4, "the fifth push waits")
        #expect(await queue.pop() == 0)
        try await Task.sleep(for: .milliseconds(50))
        #expect(pushed.load(ordering: .relaxed) == 4, "three left is above the low-water mark: still waiting")
        #expect(await queue.pop() == 1)
        try await waitUntil { pushed.load(ordering: .relaxed) >= 5 }
        var rest: [Int] = []
        while let value = await queue.pop() { rest.append(value) }
        #expect(rest == Array(2..<10))
        await producer.value
    }

    @Test("waiting consumers get elements handed over, and nil when the queue ends")
    func waitingConsumers() async throws {
        let queue = WorkQueue<Int>(capacity: 4)
        let consumers = (0..<3).map { _ in
            Task { () -> [Int] in
                var got: [Int] = []
                while let value = await queue.pop() { got.append(value) }
                return got
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        for value in 0..<100 { #expect(await queue.push(value)) }
        queue.finish()
        var all: [Int] = []
        for consumer in consumers { all += await consumer.value }
        #expect(all.sorted() == Array(0..<100), "every element exactly once")
    }

    @Test("close drops what is queued and releases a waiting producer and waiting consumers")
    func close() async throws {
        let queue = WorkQueue<Int>(capacity: 2)
        #expect(await queue.push(1))
        #expect(await queue.push(2))
        let producer = Task { await queue.push(3) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(queue.close() == 2)
        #expect(await producer.value == false)
        #expect(await queue.pop() == nil)

        let empty = WorkQueue<Int>(capacity: 2)
        let consumer = Task { await empty.pop() }
        try await Task.sleep(for: .milliseconds(20))
        empty.close()
        #expect(await consumer.value == nil)
    }

    @Test("cancelling a waiting producer or consumer ends the queue instead of hanging")
    func cancellation() async throws {
        let queue = WorkQueue<Int>(capacity: 1)
        #expect(await queue.push(1))
        let producer = Task { await queue.push(2) }
        try await Task.sleep(for: .milliseconds(20))
        producer.cancel()
        #expect(await producer.value == false)

        let empty = WorkQueue<Int>(capacity: 1)
        let consumer = Task { await empty.pop() }
        try await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value == nil)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !condition() {
            guard clock.now < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    struct TimedOut: Error {}
}
