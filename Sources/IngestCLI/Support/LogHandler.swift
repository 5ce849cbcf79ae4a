import Foundation
import Logging
import MediaIngest
import Synchronization

/// Where log lines go: standard error, and optionally a size-rotated log file. Thread-safe.
final class LogSink: Sendable {
    private struct State {
        var file: FileHandle?
        var fileSize: UInt64 = 0
    }

    /// The lowest level written to standard error (`nil`: nothing).
    let standardErrorLevel: Logger.Level?
    /// The lowest level written to the log file.
    let fileLevel: Logger.Level
    let filePath: String?
    let maxFileBytes: UInt64
    let keepFiles: Int
    private let state = Mutex(State())

    /// Creates a sink.
    /// - Parameters:
    ///   - standardErrorLevel: the lowest level written to standard error, or `nil` for none.
    ///   - filePath: append to this file, rotating it to `.1`, `.2`… when it exceeds `maxFileBytes`.
    ///   - fileLevel: the lowest level written to the file.
    init(
        standardErrorLevel: Logger.Level?, filePath: String?, fileLevel: Logger.Level = .info,
        maxFileBytes: UInt64 = 10_000_000, keepFiles: Int = 5
    ) throws {
        self.standardErrorLevel = standardErrorLevel
        self.fileLevel = fileLevel
        self.filePath = filePath
        self.maxFileBytes = maxFileBytes
        self.keepFiles = keepFiles
        if let filePath {
            try FileManager.default.createDirectory(
                atPath: (filePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let handle = try Self.openForAppend(filePath)
            let size = (try? handle.seekToEnd()) ?? 0
            state.withLock {
                $0.file = handle
                $0.fileSize = size
            }
        }
    }

    /// The lowest level any destination wants.
    var lowestLevel: Logger.Level {
        let file: Logger.Level? = filePath == nil ? nil : fileLevel
        return [standardErrorLevel, file].compactMap { $0 }.min() ?? .critical
    }

    /// `true` when standard error is systemd's journal (`JOURNAL_STREAM` names its device and inode): lines then carry
    /// a `<N>` syslog priority and no time of their own, as journald expects (sd-daemon(3)).
    let standardErrorIsJournal = LogSink.standardErrorIsJournal()

    /// Writes one line: `time body` to the file and the terminal, `<priority>body` to the journal.
    func write(_ body: String, level: Logger.Level, time: String) {
        let data = Data((time + " " + body + "\n").utf8)
        if let standardErrorLevel, level >= standardErrorLevel {
            FileHandle.standardError.write(
                standardErrorIsJournal ? Data("<\(Self.syslogPriority(level))>\(body)\n".utf8) : data)
        }
        guard let filePath, level >= fileLevel else { return }
        state.withLock { state in
            if state.fileSize + UInt64(data.count) > maxFileBytes {
                try? state.file?.close()
                rotate(filePath)
                state.file = try? Self.openForAppend(filePath)
                state.fileSize = 0
            }
            state.file?.write(data)
            state.fileSize += UInt64(data.count)
        }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func standardErrorIsJournal() -> Bool {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        var status = stat()
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]), fstat(2, &status) == 0
        else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    private func rotate(_ path: String) {
        let manager = FileManager.default
        try? manager.removeItem(atPath: "\(path).\(keepFiles)")
        if keepFiles > 1 {
            for index in stride(from: keepFiles - 1, through: 1, by: -1) {
                try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
        }
        try? manager.moveItem(atPath: path, toPath: "\(path).1")
    }

    private static func openForAppend(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError(message: "cannot open the log file \(path)", code: .configurationError)
        }
        _ = try? handle.seekToEnd()
        return handle
    }
}

/// A swift-log backend: one line per message, `time level [metadata] message` (`<priority>level [metadata] message`
/// when standard error is the systemd journal), with tokens redacted and outside text escaped (``DisplayText``).
struct IngestLogHandler: LogHandler {
    let label: String
    let sink: LogSink
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, sink: LogSink) {
        self.label = label
        self.sink = sink
        self.logLevel = sink.lowestLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        // File names and server messages arrive in messages and metadata: one escaping rule keeps every log line one
        // line of text (a name with "\n2026-… info …" in it cannot forge a line, nor an escape sequence reach a terminal).
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key.displaySafe)=\("\($0.value)".displaySafe)" }
            .joined(separator: " ")
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        let body = "\(event.level) " + (fields.isEmpty ? "" : "[\(fields)] ") + "\(event.message)".displaySafe
        sink.write(Redaction.redact(body), level: event.level, time: time)
    }
}

/// Removes credentials that could slip into a log line: signed upload URL tokens and JWTs.
enum Redaction {
    static func redact(_ text: String) -> String {
        guard text.contains("eyJ") || text.contains("/upload/") || text.contains("=") else { return text }
        // Regex values are not Sendable, so they are built here rather than kept in statics.
        let jwt = #/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/#
        let uploadPath = #/(/upload/(?:tus/)?)[A-Za-z0-9._~%-]{16,}/#
        let tokenQuery = #/([?&](?:token|uploadToken|signature|key)=)[^&\s"]+/#
        var result = text.replacing(jwt, with: "<redacted>")
        result = result.replacing(uploadPath) { match in "\(match.output.1)<redacted>" }
        result = result.replacing(tokenQuery) { match in "\(match.output.1)<redacted>" }
        return result
    }
}
