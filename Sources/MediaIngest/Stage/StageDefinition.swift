import Foundation

/// Where a stage kind sits in a pipeline. Phases give `ingest stages` its sections, let `ingest check` warn
/// about unusual orders, and tell `--dry-run` where side effects begin.
public enum StagePhase: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Produces assets.
    case source
    /// Finds out what a file is.
    case detect
    /// Reads facts the later stages use (EXIF date taken, for instance).
    case inspect
    /// Removes metadata.
    case strip
    /// Accepts or rejects files.
    case validate
    /// Changes the asset (name, folder, bytes) without side effects outside the run.
    case transform
    /// Stores the asset at a target.
    case upload
    /// Waits for the target to confirm the upload.
    case confirm
    /// Acts after the upload, in order with the other stages: archiving the source.
    case post
    /// Observes every asset as it leaves the pipeline (manifests, per-asset webhooks): an ``AssetObserver``, not a
    /// stage — its place in the list does not matter and it takes no `when`.
    case report

    /// `true` for phases whose stages act outside the run (upload, confirm, post); `--dry-run` stops before them.
    public var hasSideEffects: Bool {
        switch self {
        case .upload, .confirm, .post, .report: return true
        default: return false
        }
    }

    public static func < (lhs: StagePhase, rhs: StagePhase) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What a stage kind declares so it can be registered by name and built from a pipeline file.
///
/// ```swift
/// struct Watermark: Stage, StageDefinition {
///     static let kind = "watermark"
///     static let phase = StagePhase.transform
///     static let summary = "Adds a watermark label."
///     static let text = StageOption<String>("text", default: "©", doc: "The label.")
///     static let options = [text.spec]
///
///     let label: String
///     init(options: OptionValues, context: StageBuildContext) throws {
///         label = try options[Self.text]
///     }
///     func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome { .next(asset) }
/// }
/// ```
public protocol StageDefinition: Sendable {
    /// The name pipelines use in `"kind"`, such as `validate` or `upload.wix`.
    static var kind: String { get }
    /// The phase the kind belongs to.
    static var phase: StagePhase { get }
    /// One line for `ingest stages`.
    static var summary: String { get }
    /// The declared options, in catalogue order.
    static var options: [OptionSpec] { get }
    /// `true` when the stage acts outside the run (`--dry-run` stops before it). Defaults to the phase's answer.
    static var hasSideEffects: Bool { get }
    /// Phases one of whose stages must come earlier in the pipeline (`validate` needs `detect`: it judges the
    /// detected type). `ingest check` refuses a pipeline without one. Defaults to none.
    static var requiredEarlierPhases: [StagePhase] { get }
    /// The rejection and failure codes the kind gives, with what each means (`ingest codes`, `docs/codes.md`).
    /// Defaults to none: the runner's codes (``DocumentedCode/runner``) apply to every stage.
    static var codes: [DocumentedCode] { get }
    /// The file that defines the kind, for `ingest stages KIND`: declare it as `static let sourceFile = #filePath`.
    /// Defaults to none.
    static var sourceFile: String? { get }

    /// Builds the stage from its decoded options. Called once per pipeline build, before any file is touched.
    /// - Throws: ``ConfigError`` (use ``OptionValues/error(_:_:suggestion:)``) for values that are wrong together.
    init(options: OptionValues, context: StageBuildContext) throws
}

extension StageDefinition {
    public static var hasSideEffects: Bool { phase.hasSideEffects }
    public static var requiredEarlierPhases: [StagePhase] { [] }
    public static var codes: [DocumentedCode] { [] }
    public static var sourceFile: String? { nil }
}

/// What a stage may know while it is built from the pipeline file.
public struct StageBuildContext: Sendable {
    /// The pipeline's name.
    public var pipelineName: String
    /// The folder relative paths are resolved against (the one holding `pipelines/`).
    public var baseDirectory: String
    /// The pipeline's concurrency (the number of workers).
    public var concurrency: Int
    /// The stage's position in `stages`.
    public var index: Int
    /// The stage's instance name (its `"name"` or its kind).
    public var instanceName: String
    /// Environment variables.
    public var environment: [String: String]
    /// The phases of the stages after this one, so a stage can skip work nobody downstream uses (`strip.metadata`
    /// hashes its output only when an upload follows). Every phase when unknown (stages built in code).
    public var laterPhases: Set<StagePhase>
    /// `true` when runs keep a ledger (the `state` block), which stores each source's SHA-256. `true` when unknown.
    public var keepsLedger: Bool

    /// Creates a build context.
    public init(
        pipelineName: String, baseDirectory: String, concurrency: Int, index: Int = 0, instanceName: String = "",
        environment: [String: String] = [:], laterPhases: Set<StagePhase> = Set(StagePhase.allCases),
        keepsLedger: Bool = true
    ) {
        self.keepsLedger = keepsLedger
        self.pipelineName = pipelineName
        self.baseDirectory = baseDirectory
        self.concurrency = concurrency
        self.index = index
        self.instanceName = instanceName
        self.environment = environment
        self.laterPhases = laterPhases
    }
}
