import Foundation

/// What a run did: counts per outcome, bytes, duration, and one record per asset.
/// Printed as a human summary, or as JSON with `ingest run --json`.
public struct RunReport: Sendable, Codable {
    /// The pipeline's name.
    public var pipeline: String
    /// The run's id.
    public var runID: String
    /// When the run started and ended.
    public var startedAt: Date
    public var finishedAt: Date
    /// `true` under `--dry-run`.
    public var dryRun: Bool
    /// Number of assets per status (every status is present, zeros included).
    public var counts: [String: Int]
    /// Entries the source left for a later run (too new).
    public var deferred: Int
    /// Bytes of the sources of the assets that were done.
    public var bytesDone: Int64
    /// Set when a stop was requested (SIGINT/SIGTERM): the reason.
    public var interrupted: String?
    /// Set when an error stopped the run: the reason.
    public var aborted: String?
    /// Facts about the tools used (libmagic version, emulator or Wix base URL…), by component.
    public var info: [String: JSONValue]
    /// Assets the sources listed that never entered the pipeline because the run stopped first (they are left for
    /// the next run).
    public var notStarted = 0
    /// `false` when the run stopped before its sources were listed to the end (more files may be waiting).
    public var listedEverything = true
    /// What the run could not do outside any one asset (a folder it could not list, manifest lines it could not
    /// write); any makes the outcome ``RunOutcome/someFailed``.
    public var problems: [RunProblem] = []
    /// The records of the assets, in source order: every rejected and failed one, and the others up to the run's
    /// ``RunOptions/recordLimit`` (``assetsOmitted`` says how many were left out; the manifest has them all).
    public var assets: [AssetRecord]
    /// Done, skipped or planned assets counted in ``counts`` but not listed in ``assets``.
    public var assetsOmitted = 0
    /// Throughput over time, the slowest assets, problems by code, retries by kind (every asset counted).
    public var summary = RunSummary()

    /// Creates a report.
    public init(
        pipeline: String, runID: String, startedAt: Date, finishedAt: Date, dryRun: Bool, results: [AssetRecord],
        deferred: Int, interrupted: String?, aborted: String?, info: [String: JSONValue]
    ) {
        self.pipeline = pipeline
        self.runID = runID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.dryRun = dryRun
        self.assets = results.sorted { $0.id < $1.id }
        var counts: [String: Int] = [:]
        for status in AssetStatus.allCases { counts[status.rawValue] = 0 }
        for record in results { counts[record.status.rawValue, default: 0] += 1 }
        self.counts = counts
        self.deferred = deferred
        self.bytesDone = results.filter { $0.status == .done }.reduce(0) { $0 + ($1.size ?? 0) }
        self.interrupted = interrupted
        self.aborted = aborted
        self.info = info
    }

    /// Wall-clock duration in seconds.
    public var durationSeconds: Double { finishedAt.timeIntervalSince(startedAt) }

    /// The number of assets with `status`.
    public func count(_ status: AssetStatus) -> Int { counts[status.rawValue] ?? 0 }

    /// How the run ended, for the exit code.
    public var outcome: RunOutcome {
        if aborted != nil { return .aborted }
        if interrupted != nil { return .interrupted }
        if count(.failed) > 0 || !problems.isEmpty { return .someFailed }
        if count(.done) + count(.rejected) + count(.planned) + count(.failed) == 0 { return .nothingToDo }
        return .success
    }

    enum CodingKeys: String, CodingKey {
        case pipeline, runID = "runId", startedAt, finishedAt, durationSeconds, dryRun, outcome, counts, deferred,
            bytesDone,
            interrupted, aborted, notStarted, listedEverything, problems, info, assets, assetsOmitted, summary
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pipeline = try container.decode(String.self, forKey: .pipeline)
        runID = try container.decode(String.self, forKey: .runID)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        finishedAt = try container.decode(Date.self, forKey: .finishedAt)
        dryRun = try container.decode(Bool.self, forKey: .dryRun)
        counts = try container.decode([String: Int].self, forKey: .counts)
        deferred = try container.decode(Int.self, forKey: .deferred)
        bytesDone = try container.decode(Int64.self, forKey: .bytesDone)
        interrupted = try container.decodeIfPresent(String.self, forKey: .interrupted)
        aborted = try container.decodeIfPresent(String.self, forKey: .aborted)
        notStarted = try container.decodeIfPresent(Int.self, forKey: .notStarted) ?? 0
        listedEverything = try container.decodeIfPresent(Bool.self, forKey: .listedEverything) ?? true
        problems = try container.decodeIfPresent([RunProblem].self, forKey: .problems) ?? []
        info = try container.decode([String: JSONValue].self, forKey: .info)
        assets = try container.decode([AssetRecord].self, forKey: .assets)
        assetsOmitted = try container.decodeIfPresent(Int.self, forKey: .assetsOmitted) ?? 0
        summary = try container.decodeIfPresent(RunSummary.self, forKey: .summary) ?? RunSummary()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pipeline, forKey: .pipeline)
        try container.encode(runID, forKey: .runID)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode((durationSeconds * 1000).rounded() / 1000, forKey: .durationSeconds)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(outcome.rawValue, forKey: .outcome)
        try container.encode(counts, forKey: .counts)
        try container.encode(deferred, forKey: .deferred)
        try container.encode(bytesDone, forKey: .bytesDone)
        try container.encodeIfPresent(interrupted, forKey: .interrupted)
        try container.encode(notStarted, forKey: .notStarted)
        try container.encode(listedEverything, forKey: .listedEverything)
        try container.encode(problems, forKey: .problems)
        try container.encodeIfPresent(aborted, forKey: .aborted)
        try container.encode(info, forKey: .info)
        try container.encode(assets, forKey: .assets)
        try container.encode(assetsOmitted, forKey: .assetsOmitted)
        try container.encode(summary, forKey: .summary)
    }

    /// A JSON encoder configured the way reports and manifests are written (ISO-8601 dates, sorted keys).
    public static func makeEncoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.string(from: date))
        }
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A JSON decoder matching ``makeEncoder(pretty:)``.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = ISO8601.date(from: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 date: \(text)"))
            }
            return date
        }
        return decoder
    }
}

/// How a run ended. The CLI maps each to a documented exit code.
public enum RunOutcome: String, Sendable, Codable {
    /// Every asset done or rejected by policy.
    case success
    /// The source produced nothing new.
    case nothingToDo = "nothing_to_do"
    /// Some assets failed; a later run retries them.
    case someFailed = "some_failed"
    /// A stop was requested (SIGINT/SIGTERM); in-flight assets were drained.
    case interrupted
    /// An error stopped the run (source unreadable, credentials refused, retry budget spent).
    case aborted
}

/// ISO-8601 timestamps with milliseconds, in UTC, as Wix writes them.
public enum ISO8601 {
    /// `2026-11-24T10:15:00.123Z`.
    public static func string(from date: Date) -> String {
        // gmtime_r instead of Foundation's format style: the same text without loading calendars and time zones
        // (milliseconds of every start, and microseconds per manifest line).
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        // Out of gmtime's range (or not a number): Foundation's style, which copes, rather than a trap converting it.
        var seconds = abs(whole) < 1e15 ? time_t(whole) : 0
        var parts = tm()
        guard abs(whole) < 1e15, gmtime_r(&seconds, &parts) != nil, parts.tm_year + 1900 >= 0,
            parts.tm_year + 1900 <= 9999
        else {
            return date.formatted(
                .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(
                    .colon
                ).timeZone(separator: .omitted))
        }
        let milliseconds = min(999, Int((interval - whole) * 1000))
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":"
            + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "." + pad(Int32(milliseconds), 3) + "Z"
    }

    /// Parses timestamps with or without fractional seconds.
    public static func date(from text: String) -> Date? {
        if let date = try? Date(
            text,
            strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
                .timeSeparator(.colon).timeZone(separator: .omitted))
        {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}
