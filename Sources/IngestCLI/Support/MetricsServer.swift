import Foundation
import Hummingbird
import IngestWatch
import Logging
import MediaIngest
import Prometheus
import ServiceLifecycle

/// `HOST:PORT` for `--metrics-listen`.
struct MetricsAddress: Sendable {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port), colon != text.startIndex
        else { return nil }
        host = String(text[..<colon])
        self.port = port
    }
}

/// The watcher's metrics, kept by swift-prometheus: the textfile's `ingest_last_run_*` gauges (for the last batch)
/// under the same names, and counters over the life of the process.
final class WatchMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let lastTimestamp: Gauge
    private let lastDuration: Gauge
    private let lastExitCode: Gauge
    private let lastBytes: Gauge
    private let lastAssets: [AssetStatus: Gauge]
    private let assets: [AssetStatus: Counter]
    private let batches: Counter
    private let bytes: Counter

    /// Metrics labelled with the pipeline's name, as the textfile's are.
    init(pipeline: String) {
        let label = [("pipeline", pipeline)]
        lastTimestamp = registry.makeGauge(
            descriptor: Self.descriptor(
                "ingest_last_run_timestamp_seconds", help: "When the last run finished (Unix time)."), labels: label)
        lastDuration = registry.makeGauge(
            descriptor: Self.descriptor("ingest_last_run_duration_seconds", help: "How long the last run took."),
            labels: label)
        lastExitCode = registry.makeGauge(
            descriptor: Self.descriptor(
                "ingest_last_run_exit_code",
                help: "The exit code of the last run (0 success, 1 some failed, 4 lock held, 5 aborted…)."),
            labels: label)
        lastBytes = registry.makeGauge(
            descriptor: Self.descriptor("ingest_last_run_bytes", help: "Bytes stored by the last run."), labels: label)
        var lastAssets: [AssetStatus: Gauge] = [:]
        var assets: [AssetStatus: Counter] = [:]
        for status in AssetStatus.allCases {
            lastAssets[status] = registry.makeGauge(
                descriptor: Self.descriptor("ingest_last_run_assets", help: "Assets of the last run by outcome."),
                labels: label + [("status", status.rawValue)])
            assets[status] = registry.makeCounter(
                descriptor: Self.descriptor(
                    "ingest_assets_total", help: "Assets handled since the watcher started, by outcome."),
                labels: label + [("status", status.rawValue)])
        }
        self.lastAssets = lastAssets
        self.assets = assets
        batches = registry.makeCounter(
            descriptor: Self.descriptor("ingest_watch_batches_total", help: "Batches run since the watcher started."),
            labels: label)
        bytes = registry.makeCounter(
            descriptor: Self.descriptor("ingest_bytes_total", help: "Bytes stored since the watcher started."),
            labels: label)
    }

    /// swift-prometheus names a metric by parts; the textfile's names are given whole, so the last word is the unit.
    private static func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
        let split = name.lastIndex(of: "_") ?? name.endIndex
        return MetricNameDescriptor(
            metricName: String(name[..<split]), unitName: String(name[split...].dropFirst()), helpText: help)
    }

    func record(_ batch: WatchService.Batch) {
        batches.increment()
        guard case .success(let result) = batch.result else { return }
        let report = result.report
        lastTimestamp.set(report.finishedAt.timeIntervalSince1970)
        lastDuration.set(report.durationSeconds)
        lastExitCode.set(Double(result.exitCode.rawValue))
        lastBytes.set(Double(report.bytesDone))
        bytes.increment(by: Int64(report.bytesDone))
        for status in AssetStatus.allCases {
            lastAssets[status]?.set(Double(report.count(status)))
            assets[status]?.increment(by: Int64(report.count(status)))
        }
    }

    var text: String { registry.emitToString() }
}

/// Serves `/metrics` (Prometheus text format) and `/healthz` while the watcher runs: a Hummingbird application, one
/// service of the watcher's `ServiceGroup`.
struct MetricsEndpoint: Service {
    /// The port could not be opened (in use, no such address, not allowed).
    struct ListenError: Error, CustomStringConvertible {
        var address: MetricsAddress
        var underlying: any Error
        var description: String { "--metrics-listen \(address.host):\(address.port): \(underlying)" }
    }

    let address: MetricsAddress
    private let app: any Service
    private let listening: AsyncStream<Int>
    private let ended: AsyncStream<Int>.Continuation

    init(address: MetricsAddress, metrics: WatchMetrics, logger: Logger) {
        self.address = address
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.text)))
        }
        router.get("healthz") { _, _ in "ok\n" }
        let (listening, continuation) = AsyncStream.makeStream(of: Int.self)
        self.listening = listening
        ended = continuation
        var quiet = logger
        quiet.logLevel = .warning
        app = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "ingest-watch"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                logger.info("serving metrics", metadata: ["address": "http://\(address.host):\(port)/metrics"])
                continuation.yield(port)
                continuation.finish()
            },
            logger: quiet)
    }

    func run() async throws {
        defer { ended.finish() }
        do {
            try await app.run()
        } catch {
            throw ListenError(address: address, underlying: error)
        }
    }

    /// Waits until the port is open: `false` when the server ended (or the wait was cancelled) first.
    func waitUntilListening() async -> Bool {
        var iterator = listening.makeAsyncIterator()
        return await iterator.next() != nil
    }
}
