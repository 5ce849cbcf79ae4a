import Foundation

/// A built, validated, immutable pipeline: what ``PipelineBuilder`` returns and ``RunSession`` runs.
public struct Pipeline: Sendable {
    /// The pipeline's name (from the file, or the file name).
    public let name: String
    /// One line describing it.
    public let description: String
    /// Number of assets processed at once.
    public let concurrency: Int
    /// The sources, in order.
    public let sources: [Component<any AssetSource>]
    /// The processing stages, in order.
    public let stages: [Component<any Stage>]
    /// The observers (manifest, per-asset webhooks): they see every asset that leaves the pipeline.
    public let observers: [Component<any AssetObserver>]
    /// Ledger and lock settings (the `state` block).
    public let state: StateSettings
    /// The pipeline file, if it came from one.
    public let file: String?
    /// The folder relative paths were resolved against.
    public let baseDirectory: String
    /// Things worth a look that do not stop the pipeline from running.
    public let warnings: [ConfigWarning]

    /// Creates a pipeline directly (programmatic use and tests); files go through ``PipelineBuilder``.
    public init(
        name: String, description: String = "", concurrency: Int, sources: [Component<any AssetSource>],
        stages: [Component<any Stage>], observers: [Component<any AssetObserver>] = [], state: StateSettings? = nil,
        file: String? = nil,
        baseDirectory: String, warnings: [ConfigWarning] = []
    ) {
        self.name = name
        self.description = description
        self.concurrency = max(1, concurrency)
        self.sources = sources
        self.stages = stages
        self.observers = observers
        self.state = state ?? StateSettings.defaults(pipelineName: name, baseDirectory: baseDirectory)
        self.file = file
        self.baseDirectory = baseDirectory
        self.warnings = warnings
    }

    /// Every component: sources, stages, observers.
    public var components: [any PipelineComponent] {
        sources.map { $0.value as any PipelineComponent } + stages.map { $0.value as any PipelineComponent }
            + observers.map { $0.value as any PipelineComponent }
    }

    /// The instance names of ``components``, in the same order.
    public var componentNames: [String] { sources.map(\.name) + stages.map(\.name) + observers.map(\.name) }

    /// A copy with another concurrency (`--concurrency`).
    public func withConcurrency(_ concurrency: Int) -> Pipeline {
        Pipeline(
            name: name, description: description, concurrency: concurrency, sources: sources, stages: stages,
            observers: observers,
            state: state, file: file, baseDirectory: baseDirectory, warnings: warnings)
    }

    /// A copy with other sources in the same places (the watcher's batches: each source restricted to what changed).
    /// Keep the count and the names: the ledger keys every source after the first by its name.
    public func withSources(_ sources: [Component<any AssetSource>]) -> Pipeline {
        Pipeline(
            name: name, description: description, concurrency: concurrency, sources: sources, stages: stages,
            observers: observers, state: state, file: file, baseDirectory: baseDirectory, warnings: warnings)
    }

    /// What the ledger keys of the source at `index` start with (``Asset/ledgerKey``): nothing for the first source,
    /// its name and `//` for a later one (a relative path never holds `//`).
    public func ledgerKeyPrefix(forSourceAt index: Int) -> String {
        index == 0 ? "" : sources[index].name + "//"
    }

    /// A source or stage with its place in the pipeline.
    public struct Component<Value: Sendable>: Sendable {
        /// The built component.
        public let value: Value
        /// The kind (`validate`).
        public let kind: String
        /// The instance name (its `"name"`, or the kind).
        public let name: String
        /// The phase of its kind.
        public let phase: StagePhase
        /// `true` when it acts outside the run.
        public let hasSideEffects: Bool
        /// Run the stage only for assets this condition accepts (others pass through unchanged).
        public let condition: StageCondition?

        /// Creates a component.
        public init(
            _ value: Value, kind: String, name: String? = nil, phase: StagePhase, hasSideEffects: Bool? = nil,
            condition: StageCondition? = nil
        ) {
            self.value = value
            self.kind = kind
            self.name = name ?? kind
            self.phase = phase
            self.hasSideEffects = hasSideEffects ?? phase.hasSideEffects
            self.condition = condition
        }
    }
}

extension Pipeline.Component where Value == any Stage {
    /// Wraps a stage whose kind is declared by its type.
    public init<S: Stage & StageDefinition>(_ stage: S, name: String? = nil, condition: StageCondition? = nil) {
        self.init(
            stage, kind: S.kind, name: name, phase: S.phase, hasSideEffects: S.hasSideEffects, condition: condition)
    }
}

extension Pipeline.Component where Value == any AssetObserver {
    /// Wraps an observer whose kind is declared by its type.
    public init<S: AssetObserver & StageDefinition>(_ observer: S, name: String? = nil) {
        self.init(observer, kind: S.kind, name: name, phase: .report, hasSideEffects: S.hasSideEffects)
    }
}

extension Pipeline.Component where Value == any AssetSource {
    /// Wraps a source whose kind is declared by its type.
    public init<S: AssetSource & StageDefinition>(_ source: S, name: String? = nil) {
        self.init(source, kind: S.kind, name: name, phase: .source, hasSideEffects: false)
    }
}

/// The `when` block of a stage: which assets the stage applies to.
public struct StageCondition: Sendable, Hashable {
    /// The asset's detected MIME type must match one of these (an asset with no detected type never matches).
    public var mime: [MIMEPattern]?
    /// The asset's MIME type must match none of these.
    public var notMime: [MIMEPattern]?

    /// Creates a condition.
    public init(mime: [MIMEPattern]? = nil, notMime: [MIMEPattern]? = nil) {
        self.mime = mime
        self.notMime = notMime
    }

    /// `true` when the stage should process `asset`.
    public func accepts(_ asset: Asset) -> Bool {
        let type = asset.mime?.mime
        if let mime {
            guard let type, mime.matchesAny(type) else { return false }
        }
        if let notMime, let type, notMime.matchesAny(type) { return false }
        return true
    }

    static let mimeOption = StageOption<[MIMEPattern]?>(
        "mime", doc: "Run the stage only for assets whose detected type matches one of these patterns.")
    static let notMimeOption = StageOption<[MIMEPattern]?>(
        "notMime", doc: "Skip the stage for assets whose detected type matches one of these patterns.")
    static let specs = [mimeOption.spec, notMimeOption.spec]
}

/// The `state` block: where the ledger and the lock live and how re-runs behave.
public struct StateSettings: Sendable, Hashable {
    /// How re-runs recognise content they have seen.
    public enum Dedupe: String, OptionEnum {
        /// A file is known by its path, size and modification time.
        case off
        /// Additionally, a file whose content (SHA-256) is already done is skipped, even under another name.
        case content
        /// Before uploading, the upload stage asks the target whether it already holds these bytes (Wix: a listing of
        /// the target folder, by MD5 where Wix's `hash` is one, else by size and the ledger's earlier uploads; the
        /// library: its content index). A duplicate costs no upload and leaves `skipped` with `facts.duplicateOf`.
        case target
    }

    /// `false` turns the ledger off: every run processes every file.
    public var enabled: Bool
    /// The SQLite ledger file (when ``ledger`` is a file).
    public var ledgerPath: String {
        get { if case .file(let path) = ledger { path } else { defaultLedgerPath } }
        set { ledger = .file(newValue) }
    }
    /// Where the ledger lives: a SQLite file, or a PostgreSQL database shared by several hosts.
    public var ledger: LedgerLocation
    /// The SQLite file a pipeline uses when its `ledger` is not set.
    public var defaultLedgerPath: String
    /// A file holding the PostgreSQL password (else `PGPASSWORD`, else the URL's).
    public var passwordFile: String?
    /// How long a host's claim on an asset lasts without a heartbeat (shared ledgers): after it, another host may take
    /// the asset over.
    public var lease: Duration
    /// The lock file that keeps two runs of this pipeline apart.
    public var lockPath: String
    /// How many runs may try a failing asset before it is left alone (see `ingest retry`).
    public var maxAttempts: Int
    /// Content de-duplication across renamed files.
    public var dedupe: Dedupe

    /// Creates settings.
    public init(enabled: Bool, ledgerPath: String, lockPath: String, maxAttempts: Int, dedupe: Dedupe) {
        self.enabled = enabled
        self.ledger = .file(ledgerPath)
        self.defaultLedgerPath = ledgerPath
        self.passwordFile = nil
        self.lease = .seconds(60)
        self.lockPath = lockPath
        self.maxAttempts = maxAttempts
        self.dedupe = dedupe
    }

    /// The defaults: `.ingest/NAME.sqlite` and `.ingest/NAME.lock` in the project folder, 5 attempts, no content dedupe.
    public static func defaults(pipelineName: String, baseDirectory: String) -> StateSettings {
        StateSettings(
            enabled: true,
            ledgerPath: PathResolution.resolve(".ingest/\(pipelineName).sqlite", against: baseDirectory),
            lockPath: PathResolution.resolve(".ingest/\(pipelineName).lock", against: baseDirectory),
            maxAttempts: 5, dedupe: .off)
    }

    static let enabledOption = StageOption<Bool>(
        "enabled", default: true, doc: "Keep a ledger so re-runs skip what is done and retry what failed.")
    static let ledgerOption = StageOption<LedgerLocation?>(
        "ledger",
        doc:
            "SQLite ledger file (default .ingest/NAME.sqlite in the project folder), or a postgresql:// URL several hosts share."
    )
    static let passwordFileOption = StageOption<PathOption?>(
        "passwordFile", doc: "PostgreSQL ledger: a file holding the password (else PGPASSWORD).")
    static let leaseOption = StageOption<DurationValue>(
        "lease", default: DurationValue(seconds: 60),
        doc: "PostgreSQL ledger: how long a claim lasts without a heartbeat before another host may take it over.")
    static let lockOption = StageOption<PathOption?>(
        "lock", doc: "Lock file (default .ingest/NAME.lock in the project folder).")
    static let maxAttemptsOption = StageOption<Int>(
        "maxAttempts", default: 5, doc: "Runs that may try a failing asset before it needs `ingest retry`.")
    static let dedupeOption = StageOption<Dedupe>(
        "dedupe", default: .off,
        doc:
            "\"content\": skip files whose content this ledger saw done under another name; \"target\": ask the target whether it already holds the bytes before uploading (no upload, skipped with facts.duplicateOf)."
    )
    /// The declared `state` options.
    public static let specs = [
        enabledOption.spec, ledgerOption.spec, lockOption.spec, maxAttemptsOption.spec, dedupeOption.spec,
        passwordFileOption.spec, leaseOption.spec,
    ]
}
