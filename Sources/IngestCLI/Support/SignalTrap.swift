import CLinux
import Dispatch
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization

/// Turns SIGINT and SIGTERM into calls of a handler, with how many stop *requests* arrived so far: the first asks the
/// run to stop taking files (those in flight finish), a later one cancels them.
///
/// One request can arrive as two signals: `timeout(1)` sends SIGTERM to the process and then to its process group,
/// `kill -TERM -PGID` after `kill -TERM PID`, a service manager reaching the process and its group. So a signal is
/// read with who sent it and when it was delivered (an `SA_SIGINFO` handler in `CLinux` notes both, the time taken in
/// the handler itself so a busy process does not stretch the gap): the same signal again from the same process within
/// ``repeatWindow`` is the same request. A person's second Ctrl-C comes from the terminal (the kernel), never folded.
final class SignalTrap {
    /// A repeat of the same signal from the same process this soon is the same request.
    static let repeatWindow: Int64 = 1_000_000_000

    private let reader: any DispatchSourceRead
    private let fds: (read: Int32, write: Int32)

    init(_ handler: @escaping @Sendable (String, Int) -> Void) {
        var pipeFDs: [Int32] = [-1, -1]
        _ = pipe(&pipeFDs)
        for fd in pipeFDs {
            // Non-blocking: the handler never waits on a full pipe; close-on-exec: child processes do not inherit it.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        fds = (pipeFDs[0], pipeFDs[1])
        let counter = SignalCounter(window: Self.repeatWindow)
        let readFD = fds.read
        reader = DispatchSource.makeReadSource(fileDescriptor: readFD, queue: .global())
        reader.setEventHandler {
            var record = clinux_signal_record()
            while read(readFD, &record, MemoryLayout<clinux_signal_record>.size)
                == MemoryLayout<clinux_signal_record>.size
            {
                let name = record.signo == SIGINT ? "SIGINT" : "SIGTERM"
                if let count = counter.arrived(record) { handler(name, count) }
            }
        }
        // The read end closes once the source is cancelled, never under a running handler.
        reader.setCancelHandler { close(readFD) }
        reader.resume()
        _ = clinux_trap_stop_signals(fds.write)
    }

    /// Puts the default actions back. The pipe's write end stays open: a handler running on another thread at this
    /// very moment could otherwise write into a descriptor number reused meanwhile (one pipe per command, which
    /// ends soon after).
    func cancel() {
        clinux_restore_stop_signals()
        reader.cancel()
    }
}

/// Counts stop requests, folding a repeat of the last counted signal — the same number, from the same sending
/// process, within `window` nanoseconds of delivery — into it.
final class SignalCounter: Sendable {
    private struct Last {
        var signo: Int32
        var sender: Int32
        var code: Int32
        var delivered: Int64
    }

    private struct State {
        var count = 0
        var last: Last?
    }

    private let state = Mutex(State())
    private let window: Int64

    init(window: Int64) { self.window = window }

    /// The number of the request this signal makes, or `nil` when it repeats the one before it.
    func arrived(_ record: clinux_signal_record) -> Int? {
        arrived(signo: record.signo, sender: record.sender_pid, code: record.code, delivered: record.monotonic_ns)
    }

    func arrived(signo: Int32, sender: Int32, code: Int32, delivered: Int64) -> Int? {
        state.withLock { state in
            // SI_USER: sent by a process (kill, timeout, a service manager); a terminal's Ctrl-C comes from the
            // kernel and always counts.
            if let last = state.last, code == Int32(SI_USER), last.code == Int32(SI_USER), last.signo == signo,
                last.sender == sender, delivered - last.delivered < window
            {
                return nil
            }
            state.last = Last(signo: signo, sender: sender, code: code, delivered: delivered)
            state.count += 1
            return state.count
        }
    }
}

/// Runs a `ServiceGroup` under SIGINT and SIGTERM as ``SignalTrap`` counts them: the first request shuts the group
/// down gracefully (its services finish what is in flight, in reverse order), a later one cancels it.
///
/// The group's own signal handling (`gracefulShutdownSignals`, `cancellationSignals`) is left empty on purpose: it
/// reads signals through Dispatch, which cannot tell the second signal of one request (`timeout(1)`, a service
/// manager signalling the process and then its group) from a person's second request.
enum StopRequests {
    /// Returns `true` when a second request cancelled the group, `false` when it ended on its own or after the first;
    /// rethrows the group's error. `first` runs before the shutdown starts, with the signal's name.
    static func run(_ group: ServiceGroup, first: @escaping @Sendable (String) -> Void) async throws -> Bool {
        let (requests, continuation) = AsyncStream.makeStream(of: (signal: String, count: Int).self)
        let trap = SignalTrap { signal, count in continuation.yield((signal, count)) }
        defer {
            trap.cancel()
            continuation.finish()
        }
        return try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await group.run()
                return false
            }
            tasks.addTask {
                for await request in requests {
                    guard request.count == 1 else { return true }
                    first(request.signal)
                    await group.triggerGracefulShutdown()
                }
                return false
            }
            let cancelled = try await tasks.next() ?? false
            tasks.cancelAll()
            // Cancelled: the group's services stop where they are; wait for them (their errors are the
            // cancellation's).
            if cancelled { while (try? await tasks.next()) != nil {} }
            return cancelled
        }
    }
}
