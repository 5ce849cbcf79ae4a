import Foundation
import Hummingbird
import IngestStages
import Logging
import MediaIngest
import NIOCore
import Synchronization
import WixMedia

/// The endpoint Wix posts File Ready / File Failed webhooks to, for `wix.await-ready` with `via: "events"`: a
/// Hummingbird server on `eventsListen` that verifies each JWT with the app's public key (RS256) before it reads a
/// byte of it, drops events it has seen (Wix may deliver one twice) and hands the others to the run's poller.
///
/// Every refusal is answered (401 for a bad signature or shape, 413 for a body over 1 MiB) and logged with its reason;
/// a refused, repeated or unknown event changes nothing.
final class WixEventReceiver: Sendable {
    private let task: Task<Void, any Error>
    /// The address it listens on (`host:port`, the port the system gave for port 0).
    let address: String

    private init(task: Task<Void, any Error>, address: String) {
        self.task = task
        self.address = address
    }

    /// Starts listening on `listen` (`HOST:PORT`); returns once the port is open.
    static func start(
        listen: (host: String, port: Int), verifier: WixEventVerifier, logger: Logger,
        deliver: @escaping @Sendable (WixFileEvent) async -> ReadyPoller.EventOutcome
    ) async throws -> WixEventReceiver {
        let seen = Mutex(SeenEvents())
        let router = Router()
        router.post("**") { request, _ -> HTTPResponse.Status in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: 1 << 20)
            } catch {
                logger.warning("webhook refused: body over 1 MiB")
                return .contentTooLarge
            }
            let event: WixFileEvent?
            do {
                event = try verifier.event(String(buffer: body))
            } catch {
                logger.warning("webhook refused", metadata: ["reason": "\(error)"])
                return .unauthorized
            }
            guard let event else { return .ok }  // another event type: nothing to do with it
            guard seen.withLock({ $0.insert(event.id) }) else {
                logger.info(
                    "webhook event repeated; ignored", metadata: ["event": "\(event.id)", "wixId": "\(event.fileID)"])
                return .ok
            }
            let outcome = await deliver(event)
            logger.debug(
                "webhook event",
                metadata: ["wixId": "\(event.fileID)", "ready": "\(event.isReady)", "outcome": "\(outcome)"])
            if outcome == .unknown {
                logger.info(
                    "webhook event for a file no asset waits for (yet); kept for ten minutes",
                    metadata: ["wixId": "\(event.fileID)"])
            }
            return .ok
        }
        let (started, continuation) = AsyncStream.makeStream(of: String.self)
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .warning)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "media-ingest"),
            onServerRunning: { channel in
                continuation.yield("\(listen.host):\(channel.localAddress?.port ?? listen.port)")
            },
            logger: serverLogger)
        let task = Task {
            defer { continuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var iterator = started.makeAsyncIterator()
        guard let address = await iterator.next() else {
            throw WixEventsUnavailable(
                description: "wix.await-ready: cannot listen for webhooks on \(listen.host):\(listen.port) (in use?)")
        }
        logger.info("listening for Wix webhooks", metadata: ["address": "\(address)"])
        return WixEventReceiver(task: task, address: address)
    }

    /// Stops listening.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// `HOST:PORT` → its parts; `nil` for anything else.
    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon != text.startIndex
        else { return nil }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }
}

/// The ids of the events a receiver took, the last 10,000 (a repeated delivery is recognised by its id).
struct SeenEvents {
    private var ids: Set<String> = []
    private var order: [String] = []

    /// `false` when `id` was seen before.
    mutating func insert(_ id: String) -> Bool {
        guard ids.insert(id).inserted else { return false }
        order.append(id)
        if order.count > 10_000 {
            ids.remove(order.removeFirst())
        }
        return true
    }
}

/// The webhook endpoint could not be opened: the run stops before anything is uploaded.
struct WixEventsUnavailable: Error, CustomStringConvertible {
    var description: String
}
