import Foundation
import IngestStages
import Logging
import MediaIngest
import Synchronization
import WixMedia

/// Holds the run's poller between `prepare` and `finish`.
final class ReadyPollerHolder: Sendable {
    private let poller = Mutex<ReadyPoller?>(nil)
    func start(_ new: ReadyPoller) { poller.withLock { $0 = new } }
    func get() throws -> ReadyPoller {
        guard let current = poller.withLock({ $0 }) else {
            throw WixClientError.malformedResponse("wix.await-ready was not prepared")
        }
        return current
    }
    func stop() async {
        let current = poller.withLock { value in
            defer { value = nil }
            return value
        }
        await current?.cancelAll()
    }
}

/// Polls the files that are still PENDING, up to 100 per `get-files` call, and wakes each waiter when its file
/// leaves PENDING or its deadline passes.
///
/// With File Ready / File Failed events (``receive(_:)``), a verified File Ready settles its file at once and a File
/// Failed has it checked in the next round; polling goes on, at `fallback` intervals, for files whose event has not
/// come (Wix does not promise delivery). An event for a file nobody waits for yet (it came before the upload's
/// answer) is kept for ten minutes and settles the file when its waiter comes; a repeated one finds nobody and changes
/// nothing.
actor ReadyPoller {
    private struct Waiter {
        var token: UUID
        var continuation: CheckedContinuation<FileDescriptor, any Error>
        var deadline: ContinuousClock.Instant
    }

    let client: WixMediaClient
    let first: Duration
    let longest: Duration
    /// With events: the pause between polls for files whose event has not come.
    let fallback: Duration?
    let logger: Logger
    private var waiters: [String: [Waiter]] = [:]
    private var loop: Task<Void, Never>?
    /// Events that came before their file's waiter: the descriptor (File Ready) or `nil` (File Failed: check it).
    private var early: [String: (file: FileDescriptor?, at: ContinuousClock.Instant)] = [:]
    /// Files to check in the next round, whatever the interval (a File Failed event).
    private var due: Set<String> = []

    init(client: WixMediaClient, first: Duration, longest: Duration, fallback: Duration? = nil, logger: Logger) {
        self.client = client
        self.first = first
        self.longest = longest
        self.fallback = fallback
        self.logger = logger
    }

    /// How an event was taken.
    enum EventOutcome: String, Sendable {
        /// Its file's waiters were settled (File Ready with a descriptor).
        case settled
        /// Its file is checked in the next round (File Failed, or a File Ready without a final descriptor).
        case checking
        /// Nobody waits for the file (yet): kept a while in case its waiter comes.
        case unknown
    }

    /// A verified File Ready / File Failed event.
    func receive(_ event: WixFileEvent) -> EventOutcome {
        let now = ContinuousClock.now
        early = early.filter { now - $0.value.at < .seconds(600) }
        let final = event.file.flatMap { $0.operationStatus == "PENDING" ? nil : $0 }
        guard waiters[event.fileID] != nil else {
            early[event.fileID] = (final, now)
            return .unknown
        }
        if let final {
            for waiter in waiters.removeValue(forKey: event.fileID) ?? [] {
                waiter.continuation.resume(returning: final)
            }
            return .settled
        }
        due.insert(event.fileID)
        return .checking
    }

    /// Waits until file `id` is READY or FAILED — or the task is cancelled (a second Ctrl-C): the wait then ends at
    /// once with `CancellationError`.
    func await(_ id: String, timeout: Duration) async throws -> FileDescriptor {
        let token = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                if let event = early.removeValue(forKey: id) {
                    if let file = event.file {
                        continuation.resume(returning: file)
                        return
                    }
                    due.insert(id)
                }
                waiters[id, default: []].append(
                    Waiter(token: token, continuation: continuation, deadline: .now + timeout))
                if loop == nil { loop = Task { await self.run() } }
            }
        } onCancel: {
            Task { await self.cancel(id: id, token: token) }
        }
    }

    /// Ends one waiter with `CancellationError`.
    private func cancel(id: String, token: UUID) {
        guard var list = waiters[id], let index = list.firstIndex(where: { $0.token == token }) else { return }
        list.remove(at: index).continuation.resume(throwing: CancellationError())
        waiters[id] = list.isEmpty ? nil : list
    }

    private func run() async {
        var interval = fallback ?? first
        while !waiters.isEmpty {
            // Sleeps in steps, so a File Failed event (or a new waiter with one) is checked without waiting the round.
            let wake = ContinuousClock.now + interval
            while ContinuousClock.now < wake, due.isEmpty, !Task.isCancelled {
                try? await Task.sleep(for: min(.milliseconds(100), wake - ContinuousClock.now))
            }
            if Task.isCancelled { break }
            // At most 100 ids a call: the files an event asked about first, then the others.
            let checking = Array(due.filter { waiters[$0] != nil }.prefix(100))
            due.subtract(checking)
            due = due.filter { waiters[$0] != nil }
            let others = waiters.keys.filter { !checking.contains($0) }.prefix(max(0, 100 - checking.count))
            let ids = checking + others
            do {
                let (files, refused) = try await client.filesEach(ids: ids)
                var progressed = !refused.isEmpty
                // One id Wix refuses ends its own wait, never the batch's.
                for (id, error) in refused {
                    logger.warning("Wix refused one file of a poll", metadata: ["wixId": "\(id)", "error": "\(error)"])
                    for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) }
                }
                for file in files where file.operationStatus != "PENDING" {
                    progressed = true
                    for waiter in waiters.removeValue(forKey: file.id) ?? [] {
                        waiter.continuation.resume(returning: file)
                    }
                }
                interval = fallback ?? (progressed ? first : min(longest, interval * 1.5))
            } catch let error as WixClientError where error.isAuthenticationFailure || !error.isRetryable {
                logger.warning("polling failed", metadata: ["error": "\(error)"])
                for id in ids {
                    for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) }
                }
            } catch {
                logger.info("polling failed; will retry", metadata: ["error": "\(error)"])
                interval = fallback ?? min(longest, interval * 1.5)
            }
            let now = ContinuousClock.now
            for (id, list) in waiters {
                let (expired, alive) = (list.filter { $0.deadline <= now }, list.filter { $0.deadline > now })
                for waiter in expired {
                    waiter.continuation.resume(throwing: WaitTimeout(fileID: id))
                }
                waiters[id] = alive.isEmpty ? nil : alive
            }
        }
        loop = nil
    }

    func cancelAll() {
        loop?.cancel()
        for (_, list) in waiters { for waiter in list { waiter.continuation.resume(throwing: CancellationError()) } }
        waiters = [:]
    }
}
