import Foundation
import Logging
import Synchronization

/// A swift-log backend that keeps every entry in memory, so a test can check what a stage logged — not only that
/// it did not crash.
///
/// ```swift
/// let logs = InMemoryLogHandler.Store()
/// let harness = StageHarness(stage, logger: logs.logger())
/// _ = try await harness.process(file: path)
/// #expect(logs.entries.contains { $0.level == .info && $0.message.contains("stripped") })
/// ```
public struct InMemoryLogHandler: LogHandler {
    /// One logged line.
    public struct Entry: Sendable, Hashable {
        public var level: Logger.Level
        public var message: String
        /// The logger's metadata merged with the call's, rendered as text.
        public var metadata: [String: String]
        public var label: String
    }

    /// Where the entries go; shared by every logger it makes (safe from concurrent workers).
    public final class Store: Sendable {
        private let storage = Mutex<[Entry]>([])

        public init() {}

        /// Every entry so far, in the order logged.
        public var entries: [Entry] { storage.withLock { $0 } }

        /// Entries at `level` or more severe.
        public func entries(atLeast level: Logger.Level) -> [Entry] { entries.filter { $0.level >= level } }

        /// Forgets every entry.
        public func removeAll() { storage.withLock { $0.removeAll() } }

        /// A logger writing here, at `level` (default: everything).
        public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
            var logger = Logger(label: label) { label in InMemoryLogHandler(label: label, store: self) }
            logger.logLevel = level
            return logger
        }

        func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }
    }

    public let label: String
    public let store: Store
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]

    public init(label: String, store: Store) {
        self.label = label
        self.store = store
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        store.append(
            Entry(
                level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" },
                label: label))
    }
}
