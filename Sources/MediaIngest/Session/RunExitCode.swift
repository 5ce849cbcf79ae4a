/// The documented exit codes of a run (and of the `ingest` commands).
public enum RunExitCode: Int32, CaseIterable, Sendable {
    /// Every asset done (or rejected by policy: rejections are listed in the report).
    case success = 0
    /// Some assets failed; a later run retries them.
    case someFailed = 1
    /// The pipeline file (or a secret it references) is wrong.
    case configurationError = 2
    /// Nothing new to ingest (only with `--error-on-idle`; otherwise 0).
    case nothingToDo = 3
    /// Another run of the same pipeline holds the lock.
    case lockHeld = 4
    /// The run stopped on an error no asset could get past (source missing, credentials refused, retry budget spent).
    case aborted = 5
    /// Bad command line (argument parser).
    case usage = 64
    /// Interrupted by SIGINT or SIGTERM; in-flight assets were finished first.
    case interrupted = 130

    /// One line for `docs/exit-codes.md` and `--help`.
    public var meaning: String {
        switch self {
        case .success: return "all done: every asset stored, or rejected by policy (rejections are listed)"
        case .someFailed: return "some assets failed; the next run retries them"
        case .configurationError: return "configuration error: pipeline file, options or a missing secret"
        case .nothingToDo: return "nothing to do: no new assets (only with --error-on-idle)"
        case .lockHeld: return "another run of this pipeline holds the lock"
        case .aborted: return "run aborted: source unreadable, credentials refused or retry budget spent"
        case .usage: return "bad command line"
        case .interrupted: return "interrupted by SIGINT/SIGTERM after finishing in-flight assets"
        }
    }
}

extension RunExitCode {
    /// The exit code for how a run ended; `errorOnIdle` turns a run with nothing to do into ``nothingToDo``.
    public init(_ outcome: RunOutcome, errorOnIdle: Bool = false) {
        switch outcome {
        case .success: self = .success
        case .someFailed: self = .someFailed
        case .nothingToDo: self = errorOnIdle ? .nothingToDo : .success
        case .interrupted: self = .interrupted
        case .aborted: self = .aborted
        }
    }
}
