import DequeModule
import Synchronization

/// A bounded first-in, first-out hand-over between one producer (the runner reading its sources) and the runner's
/// long-lived workers.
///
/// Built so that a hand-over usually costs a lock and no thread wake-up:
/// - a consumer that finds an element takes it without suspending;
/// - a producer that finds the queue full waits until consumers have drained it to half (`lowWater`), not until one
///   slot frees, so a fast source and a slow stage swap control once per `capacity / 2` elements instead of once per
///   element (which is what a task per element, or a rendezvous channel, costs: two futex wake-ups each).
///
/// ``close()`` ends the queue early (a stop or a cancellation): buffered elements are dropped, waiting consumers get
/// `nil` and a waiting producer gets `false`. ``finish()`` ends it normally: consumers drain what is buffered first.
final class WorkQueue<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var buffer = Deque<Element>()
        var consumers = Deque<UnsafeContinuation<Element?, Never>>()
        var producer: UnsafeContinuation<Bool, Never>?
        var finished = false
        var closed = false
    }

    private let state = Mutex(State())
    /// How many elements may wait in the queue.
    let capacity: Int
    /// A waiting producer is resumed once the queue holds this many or fewer.
    let lowWater: Int

    /// Creates a queue holding up to `capacity` elements (at least 1).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        lowWater = self.capacity / 2
    }

    /// Adds an element, waiting while the queue is full. Cancelling a waiting producer closes the queue.
    /// One producer at a time.
    /// - Returns: `false` when the queue was closed (the element was dropped); stop producing then.
    func push(_ element: Element) async -> Bool {
        let outcome = state.withLock { state -> Push in
            if state.closed || state.finished { return .done(false) }
            if let consumer = state.consumers.popFirst() { return .handed(consumer) }
            if state.buffer.count < capacity {
                state.buffer.append(element)
                return .done(true)
            }
            return .wait
        }
        switch outcome {
        case .done(let accepted):
            return accepted
        case .handed(let consumer):
            consumer.resume(returning: element)
            return true
        case .wait:
            // Full: wait for the consumers to drain to `lowWater` (or a close), then try again.
            let open = await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                    let resumeNow = state.withLock { state -> Bool? in
                        if state.closed || Task.isCancelled { return false }
                        if state.buffer.count <= lowWater { return true }
                        state.producer = continuation
                        return nil
                    }
                    if let resumeNow { continuation.resume(returning: resumeNow) }
                }
            } onCancel: {
                close()
            }
            return open ? await push(element) : false
        }
    }

    /// Takes the oldest element, waiting while the queue is empty. Cancelling a waiting consumer closes the queue
    /// (the runner's workers are only cancelled with the whole run).
    /// - Returns: `nil` once the queue is finished and drained, or closed.
    func pop() async -> Element? {
        let outcome = state.withLock { state -> Take in take(&state) }
        switch outcome {
        case .element(let element, let producer):
            producer?.resume(returning: true)
            return element
        case .end:
            return nil
        case .wait:
            return await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Element?, Never>) in
                    let now = state.withLock { state -> Take in
                        if Task.isCancelled { return .end }
                        let outcome = take(&state)
                        if case .wait = outcome { state.consumers.append(continuation) }
                        return outcome
                    }
                    switch now {
                    case .element(let element, let producer):
                        producer?.resume(returning: true)
                        continuation.resume(returning: element)
                    case .end:
                        continuation.resume(returning: nil)
                    case .wait:
                        break
                    }
                }
            } onCancel: {
                // Workers are only cancelled with the whole run.
                close()
            }
        }
    }

    private enum Push {
        case done(Bool)
        case handed(UnsafeContinuation<Element?, Never>)
        case wait
    }

    private enum Take {
        case element(Element, wake: UnsafeContinuation<Bool, Never>?)
        case end
        case wait
    }

    /// The next element, if any, and the producer to wake when this take drained the queue to `lowWater`.
    private func take(_ state: inout State) -> Take {
        if state.closed { return .end }
        if let element = state.buffer.popFirst() {
            let wake = state.buffer.count <= lowWater ? state.producer.take() : nil
            return .element(element, wake: wake)
        }
        return state.finished ? .end : .wait
    }

    /// No more elements will come: consumers get what is buffered, then `nil`.
    func finish() {
        let waiting = state.withLock { state -> Deque<UnsafeContinuation<Element?, Never>> in
            state.finished = true
            // Consumers only wait on an empty queue, so every one of them is done.
            let waiting = state.consumers
            state.consumers.removeAll()
            return waiting
        }
        for consumer in waiting { consumer.resume(returning: nil) }
    }

    /// Ends the queue at once: buffered elements are dropped, waiting consumers get `nil`, a waiting producer `false`.
    /// - Returns: how many buffered elements were dropped.
    @discardableResult
    func close() -> Int {
        let (consumers, producer, dropped) = state.withLock { state in
            state.closed = true
            let dropped = state.buffer.count
            state.buffer.removeAll()
            let consumers = state.consumers
            state.consumers.removeAll()
            return (consumers, state.producer.take(), dropped)
        }
        for consumer in consumers { consumer.resume(returning: nil) }
        producer?.resume(returning: false)
        return dropped
    }
}
