import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import UnixSignals
import _CryptoExtras

/// The Wix Media Manager emulator: a Hummingbird server that answers the documented Media Manager REST paths, the
/// upload endpoints (plain PUT and tus) and an `/_emulator` admin API, keeping files under a data folder.
///
/// Run it with ``run(onStarted:)`` (the `wix-media-emulator` executable does), or start it in-process on an
/// ephemeral port with ``start(_:logger:)`` (tests do).
public struct WixMediaEmulator: Sendable {
    public let configuration: EmulatorConfiguration
    let logger: Logger

    public init(configuration: EmulatorConfiguration, logger: Logger = Logger(label: "wix-media-emulator")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGINT or SIGTERM (finishing requests in flight). `onStarted` receives the base URL once the
    /// port is bound.
    public func run(onStarted: @escaping @Sendable (String) async -> Void = { _ in }) async throws {
        let store = try EmulatorStore(directory: configuration.dataDirectory)
        let faults = FaultInjector(settings: configuration.faults)
        try await run(
            store: store, faults: faults, counter: RequestCounter(), signals: [.sigint, .sigterm],
            control: ShutdownControl(), onStarted: onStarted)
    }

    func run(
        store: EmulatorStore, faults: FaultInjector, counter: RequestCounter, signals: [UnixSignal],
        control: ShutdownControl,
        onStarted: @escaping @Sendable (String) async -> Void
    ) async throws {
        let base = BaseURLBox(configuration.publicBaseURL ?? "http://\(configuration.host):\(configuration.port)")
        let (jobs, continuation) = AsyncStream.makeStream(of: BackgroundJob.self)
        let routes = EmulatorRoutes(
            configuration: configuration, store: store, faults: faults, counter: counter, base: base,
            jobs: continuation, logger: logger)
        var serverLogger = logger
        serverLogger.logLevel = min(logger.logLevel, .warning) == logger.logLevel ? logger.logLevel : .warning
        let publicBaseURL = configuration.publicBaseURL
        let host = configuration.host
        let app = Application(
            router: routes.buildRouter(),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "wix-media-emulator"),
            onServerRunning: { channel in
                if publicBaseURL == nil, let port = channel.localAddress?.port { base.set("http://\(host):\(port)") }
                await onStarted(base.url)
            },
            logger: serverLogger)
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .follow(max: 5, allowCycles: false),
                timeout: .init(connect: .seconds(3), read: .seconds(60))))
        defer { continuation.finish() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Imports run two at a time, as fetched work would on a real backend queue.
                    await withTaskGroup(of: Void.self) { imports in
                        var running = 0
                        for await job in jobs {
                            if running >= 2 {
                                await imports.next()
                                running -= 1
                            }
                            running += 1
                            imports.addTask {
                                switch job {
                                case .importFile(let id, let url, let headers):
                                    await routes.runImport(id: id, url: url, headers: headers, client: client)
                                }
                            }
                        }
                    }
                }
                group.addTask {
                    await WebhookNotifier(
                        configuration: configuration, store: store, faults: faults, base: base, client: client,
                        logger: logger
                    ).run()
                }
                // The server runs until a signal or ``RunningEmulator/stop()`` shuts it down gracefully; the background
                // workers stop with it.
                defer { group.cancelAll() }
                let services = ServiceGroup(
                    configuration: .init(services: [app], gracefulShutdownSignals: signals, logger: logger))
                await control.attach(services)
                try await services.run()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
    }

    /// Starts the emulator in this process and returns once it accepts connections (port 0 picks a free port).
    public static func start(
        _ configuration: EmulatorConfiguration, logger: Logger = Logger(label: "wix-media-emulator")
    ) async throws -> RunningEmulator {
        let emulator = WixMediaEmulator(configuration: configuration, logger: logger)
        let store = try EmulatorStore(directory: configuration.dataDirectory)
        let faults = FaultInjector(settings: configuration.faults)
        let counter = RequestCounter()
        let control = ShutdownControl()
        let (started, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            do {
                try await emulator.run(store: store, faults: faults, counter: counter, signals: [], control: control) {
                    url in continuation.yield(url)
                }
            } catch {
                logger.error("emulator stopped: \(error)")
            }
            continuation.finish()
        }
        var iterator = started.makeAsyncIterator()
        guard let url = await iterator.next() else { throw EmulatorStartError() }
        return RunningEmulator(
            baseURL: url, task: task, control: control, store: store, faults: faults, counter: counter)
    }
}

/// The emulator could not bind its port.
public struct EmulatorStartError: Error, CustomStringConvertible {
    public var description: String { "the emulator could not start (is the port in use?)" }
}

/// An emulator running in this process (tests, benchmarks).
public final class RunningEmulator: Sendable {
    /// `http://127.0.0.1:<port>`: the base URL for both the Wix API paths and uploads.
    public let baseURL: String
    private let task: Task<Void, Never>
    private let control: ShutdownControl
    let store: EmulatorStore
    let faults: FaultInjector
    let counter: RequestCounter

    init(
        baseURL: String, task: Task<Void, Never>, control: ShutdownControl, store: EmulatorStore, faults: FaultInjector,
        counter: RequestCounter
    ) {
        self.baseURL = baseURL
        self.task = task
        self.control = control
        self.store = store
        self.faults = faults
        self.counter = counter
    }

    /// Replaces the fault settings (and reseeds the dice).
    public func setFaults(_ settings: FaultSettings) async { await faults.update(settings) }

    /// Requests seen so far, keyed `"METHOD /route STATUS"`.
    public var requestCounts: [String: Int] { counter.snapshot }

    /// The public key webhooks are signed with (PEM), as a Wix app's page shows the app's.
    public func webhookPublicKey() async throws -> String { try await store.webhookKey().publicKey.pemRepresentation }

    /// Stops serving (gracefully: requests in flight finish) and waits until the port is closed. Calling it again,
    /// or after the server stopped, does nothing.
    public func stop() async {
        await control.shutdown()
        await task.value
    }
}

/// Lets ``RunningEmulator/stop()`` reach the service group that runs the server.
actor ShutdownControl {
    private var services: ServiceGroup?
    private var requested = false

    func attach(_ services: ServiceGroup) async {
        self.services = services
        if requested { await services.triggerGracefulShutdown() }
    }

    func shutdown() async {
        // Once is enough: test clean-up may stop a server its test stopped already.
        guard !requested else { return }
        requested = true
        await services?.triggerGracefulShutdown()
    }
}

/// Delivers File Ready / File Failed events (§6) to the configured webhook URL once a file's processing ends.
///
/// The body is a JWT, as Wix sends it; its payload's `data` is the stringified envelope `{instanceId, eventType,
/// identity, data}` whose `data` is the stringified domain event. Signed RS256 as Wix signs them, with the emulator's
/// own RSA key (`GET /_emulator/webhook-public-key` gives its public half, as a Wix app's page gives the app's).
/// `webhookLossRate` and `webhookDuplicateRate` drop or repeat deliveries; with no processing delay an event can
/// arrive before the upload's own answer.
struct WebhookNotifier: Sendable {
    let configuration: EmulatorConfiguration
    let store: EmulatorStore
    let faults: FaultInjector
    let base: BaseURLBox
    let client: HTTPClient
    let logger: Logger

    func run() async {
        guard let target = configuration.webhookURL else { return }
        var attempts: [String: Int] = [:]
        while !Task.isCancelled {
            let now = Date()
            for var file in await store.allFiles() where !file.notified && file.operationStatus(at: now) != "PENDING" {
                if await deliver(file, to: target, now: now) || attempts[file.id, default: 0] >= 4 {
                    file.notified = true
                    try? await store.put(file)
                } else {
                    attempts[file.id, default: 0] += 1
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    func deliver(_ file: StoredFile, to target: String, now: Date) async -> Bool {
        let ready = file.outcome == "READY"
        let slug = ready ? "file_ready" : "file_failed"
        let externalInfo: [String: Any] = [
            "origin": file.externalOrigin ?? NSNull(), "externalIds": file.externalIds ?? [],
        ]
        let body: [String: Any] =
            ready
            ? [
                "file": DescriptorRenderer(baseURL: base.url).file(file, now: now), "externalInfo": externalInfo,
                "triggeredByUndelete": false,
            ]
            : ["externalInfo": externalInfo]
        let event: [String: Any] = [
            "id": UUID().uuidString.lowercased(), "entityFqdn": "wix.media.site_media.v1.file_descriptor", "slug": slug,
            "entityId": file.id,
            "eventTime": DescriptorRenderer.date(now), "triggeredByAnonymizeRequest": false,
            "actionEvent": ["body": body],
        ]
        guard let eventData = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]) else {
            return true
        }
        let envelope: [String: Any] = [
            "instanceId": configuration.siteID, "eventType": "wix.media.site_media.v1.file_descriptor_\(slug)",
            "identity": ["identityType": "APP"], "data": String(decoding: eventData, as: UTF8.self),
        ]
        guard let envelopeData = try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys]),
            let payload = try? JSONSerialization.data(
                withJSONObject: ["data": String(decoding: envelopeData, as: UTF8.self)], options: [.sortedKeys])
        else { return true }
        let header = UploadToken.base64URL(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let signingInput = header + "." + UploadToken.base64URL(payload)
        guard let key = try? await store.webhookKey(),
            let signature = try? key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        else { return false }
        let jwt = signingInput + "." + UploadToken.base64URL(signature.rawRepresentation)
        // Wix does not promise one delivery: a share of events is lost, a share delivered twice.
        if await faults.webhookLost() {
            logger.debug("webhook event dropped (injected)", metadata: ["file": "\(file.id)"])
            return true
        }
        let copies = await faults.webhookDuplicated() ? 2 : 1
        var delivered = false
        for _ in 0..<copies {
            var request = HTTPClientRequest(url: target)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "text/plain")
            request.body = .bytes(ByteBuffer(string: jwt))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                delivered = delivered || (200..<300).contains(response.status.code)
            } catch {
                logger.info("webhook delivery failed", metadata: ["file": "\(file.id)", "error": "\(error)"])
            }
        }
        return delivered
    }
}
