import Synchronization

/// Something a run could not do that belongs to no single asset — a folder it could not list, manifest lines it
/// could not write — so no file or finding disappears without the exit code saying so. Any problem makes the run's
/// outcome ``RunOutcome/someFailed`` (exit code 1); the report lists them, `status` shows the last run's, and the
/// next run meets them again until they are fixed.
public struct RunProblem: Sendable, Codable, Hashable {
    /// What went wrong, as a stable code.
    public struct Kind: RawRepresentable, Sendable, Codable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A folder under a source's root that could not be listed: whatever is inside was not seen.
        public static let unlistedFolder = Kind(rawValue: "unlisted_folder")
        /// Lines of an append-only output (the manifest) that could not be written; the file still ends on a whole
        /// line.
        public static let linesLost = Kind(rawValue: "lines_lost")
        /// An output written once per run (the metrics textfile) that could not be written.
        public static let outputNotWritten = Kind(rawValue: "output_not_written")
    }

    public var kind: Kind
    /// The folder or file concerned.
    public var path: String
    /// Why (the system's reason: "Permission denied", "No space left on device").
    public var reason: String
    /// How many times it happened in the run (lines lost, for instance).
    public var count: Int

    public init(_ kind: Kind, path: String, reason: String, count: Int = 1) {
        self.kind = kind
        self.path = path
        self.reason = reason
        self.count = count
    }

    /// One line for people (the path display-safe).
    public var summary: String {
        switch kind {
        case .unlistedFolder: return "folder not listed: \(path.displaySafe) (\(reason.displaySafe))"
        case .linesLost:
            return "\(count) line\(count == 1 ? "" : "s") not written to \(path.displaySafe) (\(reason.displaySafe))"
        default: return "\(kind): \(path.displaySafe) (\(reason.displaySafe))"
        }
    }
}

/// The problems of one run, collected from any component and thread (``PipelineContext/problems``); one entry per
/// kind and path, counted.
public final class RunProblems: Sendable {
    private let entries = Mutex<[RunProblem]>([])

    public init() {}

    /// Adds a problem (or counts it again: the same kind and path add up, the latest reason kept).
    public func report(_ problem: RunProblem) {
        entries.withLock { entries in
            if let index = entries.firstIndex(where: { $0.kind == problem.kind && $0.path == problem.path }) {
                entries[index].count += problem.count
                entries[index].reason = problem.reason
            } else {
                entries.append(problem)
            }
        }
    }

    /// The problems so far, in the order first seen.
    public var all: [RunProblem] { entries.withLock { $0 } }
}
