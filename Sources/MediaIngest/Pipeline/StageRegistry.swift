import Foundation

/// The stage kinds a pipeline may name, each with a factory that builds it from its options.
///
/// A value, not a global: the CLI builds one with the built-in stages and the user's stages, tests build their
/// own. Registering a kind twice replaces the earlier registration (so a package can override a built-in).
///
/// ```swift
/// var registry = StageRegistry()
/// registry.register(Watermark.self)
/// let pipeline = try PipelineBuilder(registry: registry).build(fileAt: "pipelines/demo.json")
/// ```
public struct StageRegistry: Sendable {
    /// A registered stage kind.
    public struct Entry: Sendable {
        /// The kind name.
        public let kind: String
        /// The phase.
        public let phase: StagePhase
        /// One line for the catalogue.
        public let summary: String
        /// The declared options.
        public let options: [OptionSpec]
        /// `true` when the kind acts outside the run.
        public let hasSideEffects: Bool
        /// Phases one of whose stages must come before it.
        public let requiredEarlierPhases: [StagePhase]
        /// The module that registered it (for the catalogue), e.g. `IngestStages`.
        public let module: String
        /// The Swift type that implements it, module-qualified (`IngestStages.ValidateStage`).
        public let typeName: String
        /// The rejection and failure codes it gives (``StageDefinition/codes``).
        public let codes: [DocumentedCode]
        /// The file that defines it, from its package's `Sources/` on (``StageDefinition/sourceFile``).
        public let file: String?
        let make: @Sendable (OptionValues, StageBuildContext) throws -> BuiltComponent
    }

    private var entries: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// Registers a processing stage kind.
    public mutating func register<S: Stage & StageDefinition>(_ type: S.Type) {
        entries[S.kind] = Entry(
            kind: S.kind, phase: S.phase, summary: S.summary, options: S.options, hasSideEffects: S.hasSideEffects,
            requiredEarlierPhases: S.requiredEarlierPhases, module: Self.moduleName(of: S.self),
            typeName: String(reflecting: S.self), codes: S.codes,
            file: S.sourceFile.map(Self.packageRelative),
            make: { options, context in .stage(try S(options: options, context: context)) })
    }

    /// Registers an observer kind (phase ``StagePhase/report``).
    public mutating func register<S: AssetObserver & StageDefinition>(_ type: S.Type) {
        entries[S.kind] = Entry(
            kind: S.kind, phase: .report, summary: S.summary, options: S.options, hasSideEffects: S.hasSideEffects,
            requiredEarlierPhases: S.requiredEarlierPhases, module: Self.moduleName(of: S.self),
            typeName: String(reflecting: S.self), codes: S.codes,
            file: S.sourceFile.map(Self.packageRelative),
            make: { options, context in .observer(try S(options: options, context: context)) })
    }

    /// Registers a source kind.
    public mutating func register<S: AssetSource & StageDefinition>(_ type: S.Type) {
        entries[S.kind] = Entry(
            kind: S.kind, phase: .source, summary: S.summary, options: S.options, hasSideEffects: false,
            requiredEarlierPhases: [], module: Self.moduleName(of: S.self), typeName: String(reflecting: S.self),
            codes: S.codes, file: S.sourceFile.map(Self.packageRelative),
            make: { options, context in .source(try S(options: options, context: context)) })
    }

    /// A source file's path from its package's `Sources/` folder on (the whole path when it has none).
    static func packageRelative(_ path: String) -> String {
        guard let range = path.range(of: "/Sources/", options: .backwards) else { return path }
        return String(path[path.index(after: range.lowerBound)...])
    }

    /// Adds every kind of `other`, replacing kinds registered here with the same name.
    public mutating func merge(_ other: StageRegistry) {
        entries.merge(other.entries) { _, new in new }
    }

    /// The entry for `kind`.
    public func entry(for kind: String) -> Entry? { entries[kind] }

    /// Every registered kind, by phase then name.
    public var allEntries: [Entry] {
        entries.values.sorted { ($0.phase, $0.kind) < ($1.phase, $1.kind) }
    }

    /// The registered kind names.
    public var kinds: [String] { entries.keys.sorted() }

    private static func moduleName(of type: Any.Type) -> String {
        // The qualified name ("IngestStages.DetectStage"); String(reflecting:) goes through Mirror and costs
        // ~100 µs per kind at every start.
        let name = _typeName(type, qualified: true)
        return name.split(separator: ".").first.map(String.init) ?? name
    }
}

/// A built pipeline component: a source, a processing stage or an observer.
public enum BuiltComponent: Sendable {
    case source(any AssetSource)
    case stage(any Stage)
    case observer(any AssetObserver)

    /// The component, whatever its role.
    public var component: any PipelineComponent {
        switch self {
        case .source(let source): return source
        case .stage(let stage): return stage
        case .observer(let observer): return observer
        }
    }
}
