import Dispatch
import Foundation
import Glibc
import Synchronization

/// Turns SIGINT and SIGTERM into calls of a handler, with how many *requests* arrived so far: the first asks the run
/// to stop taking files (those in flight finish), a later one cancels them.
///
/// One request can arrive as two signals: `timeout(1)` sends SIGTERM to the process and then to its process group,
/// `kill -TERM -PGID` and service managers reach the process more than once. A signal within
/// ``coalescingWindow`` of the one before it is the same request, so a single `timeout` or `systemctl stop` never
/// cancels the files in flight; a second Ctrl-C pressed by a person (later than that) does.
final class SignalTrap {
    /// Signals this close together count as one request.
    static let coalescingWindow: Duration = .milliseconds(250)

    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (String, Int) -> Void) {
        let counter = SignalCounter(window: Self.coalescingWindow)
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if let count = counter.arrived(at: .now) { handler(name, count) }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Counts stop requests across both signals, folding the signals that arrive within `window` of the request before
/// into it.
final class SignalCounter: Sendable {
    private struct State {
        var count = 0
        var last: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let window: Duration

    init(window: Duration) { self.window = window }

    /// The number of the request this signal makes, or `nil` when it repeats the one just before it.
    func arrived(at instant: ContinuousClock.Instant) -> Int? {
        state.withLock { state in
            if let last = state.last, instant - last < window { return nil }
            state.last = instant
            state.count += 1
            return state.count
        }
    }
}
