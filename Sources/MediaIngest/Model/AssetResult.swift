import Foundation

/// How an asset left the pipeline.
public enum AssetStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every stage passed it; stored at the target.
    case done
    /// A stage rejected it; see the rejection. Final until the file changes.
    case rejected
    /// A stage failed on it; a later run retries it.
    case failed
    /// The ledger says an earlier run already handled it.
    case skipped
    /// Under `--dry-run`: it would have gone on to the stages with side effects.
    case planned
}

/// Why an asset failed: a stable code and one line.
public struct AssetFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A stable code (`error`, `http_503`, `interrupted`…).
    public var code: Code
    /// One line.
    public var message: String
    /// The stage kind that failed.
    public var stage: String?

    /// A failure code, typed like ``Rejection/Code``: the runner's codes are static members; stages define their
    /// own with `Code("…")` and document them in ``StageDefinition/codes``.
    public struct Code: StableCode {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A read or write error (a flaky network mount, a full disk): the file is tried again.
        public static let io: Code = "io"
        /// An error with no code of its own (a bug worth reporting); retried.
        public static let error: Code = "error"
        /// A second stop request cancelled the work: not recorded, no attempt spent.
        public static let interrupted: Code = "interrupted"
        /// An error that stopped the run, with no code of its own.
        public static let aborted: Code = "aborted"
        /// The ledger could not be read or written.
        public static let ledger: Code = "ledger"
        /// The file vanished during an interrupted run before its upload was confirmed.
        public static let sourceVanished: Code = "source_vanished"
        /// The other half of a group (a Live Photo) failed.
        public static let pairIncomplete: Code = "pair_incomplete"
        /// A shared ledger's claim was lost to another host.
        public static let claimLost: Code = "claim_lost"
    }

    /// Creates a failure.
    public init(code: Code, message: String, stage: String? = nil) {
        self.code = code
        self.message = message
        self.stage = stage
    }

    /// Describes any error thrown by a stage (``ErrorPolicy/failure(of:stage:)``).
    public init(error: any Error, stage: String?) {
        self = ErrorPolicy.failure(of: error, stage: stage)
    }

    public var description: String { "\(code): \(message)" }
}

/// The final result of one asset: what it became and how it left the pipeline.
public struct AssetResult: Sendable {
    /// The asset as the last stage it reached left it.
    public var asset: Asset
    /// How it left.
    public var status: AssetStatus
    /// The stage instance where it stopped (the rejecting or failing stage; the last stage when done).
    public var stage: String?
    /// Set when ``status`` is `.rejected`.
    public var rejection: Rejection?
    /// Set when ``status`` is `.failed`.
    public var failure: AssetFailure?
    /// Why it was skipped (for `.skipped`) or where it stopped (for `.planned`).
    public var note: String?
    /// Time spent in the pipeline.
    public var duration: Duration

    /// Creates a result.
    public init(
        asset: Asset, status: AssetStatus, stage: String? = nil, rejection: Rejection? = nil,
        failure: AssetFailure? = nil,
        note: String? = nil, duration: Duration = .zero
    ) {
        self.asset = asset
        self.status = status
        self.stage = stage
        self.rejection = rejection
        self.failure = failure
        self.note = note
        self.duration = duration
    }

    /// The one-line reason shown in reports: the rejection's or failure's line, or the note.
    public var reason: String? {
        rejection?.reason ?? failure?.message ?? note
    }

    /// The stable code for the manifest: the rejection or failure code.
    public var code: String? {
        rejection?.code.rawValue ?? failure?.code.rawValue
    }

    /// The JSON line a manifest writes for this result.
    public var record: AssetRecord { AssetRecord(self) }

    /// `false` for an asset the ledger skipped before any stage saw it (done in an earlier run): it is neither
    /// recorded again nor shown to observers. A duplicate an upload stage found at the target was processed.
    public var wasProcessed: Bool { status != .skipped || asset.duplicateOf != nil }

    /// The result with its duration measured from `start`.
    func took(since start: ContinuousClock.Instant) -> AssetResult {
        var result = self
        result.duration = ContinuousClock.now - start
        return result
    }
}

/// The serializable form of an ``AssetResult``: one manifest line, one entry of the JSON report.
public struct AssetRecord: Sendable, Codable, Hashable {
    public var id: Int
    public var source: String
    public var path: String
    public var fileName: String
    /// The source's size.
    public var size: Int64?
    /// The size of what was stored, when a stage changed the bytes (stripping).
    public var storedSize: Int64?
    public var sha256: String?
    public var mime: String?
    public var family: String?
    public var status: AssetStatus
    public var stage: String?
    public var code: String?
    public var reason: String?
    public var target: TargetRecord?
    public var facts: [String: JSONValue]?
    /// The files paired with this one and never uploaded (XMP, AAE, Takeout JSON, a left-out Live Photo video).
    public var sidecars: [Sidecar]?
    public var durationMs: Int

    /// Creates the record of a result.
    public init(_ result: AssetResult) {
        let asset = result.asset
        id = asset.id
        source = asset.origin.path ?? asset.origin.url ?? asset.displayPath
        path = asset.displayPath
        fileName = asset.fileName
        size = asset.sourceSize ?? asset.size
        storedSize = asset.size != size ? asset.size : nil
        sha256 = asset.sourceSHA256
        mime = asset.mime?.mime
        family = asset.mime?.family.rawValue
        status = result.status
        stage = result.stage
        code = result.code
        reason = result.reason
        target = asset.target
        let shown = asset.reportedFacts
        facts = shown.isEmpty ? nil : shown
        sidecars = asset.sidecars.isEmpty ? nil : asset.sidecars
        let (seconds, attoseconds) = result.duration.components
        durationMs = Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
