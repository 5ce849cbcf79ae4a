import Foundation

/// Reads a pipeline file, checks everything in it, and builds an immutable ``Pipeline`` — before any media
/// file is touched. Every mistake is reported at once, each with its JSON path.
///
/// ```json
/// {
///   "name": "photos",
///   "description": "Camera dumps to the media library",
///   "concurrency": 4,
///   "stages": [
///     {"kind": "source.directory", "with": {"path": "inbox", "include": ["*.jpg"]}},
///     {"kind": "detect.mime"},
///     {"kind": "validate", "with": {"maxBytes": "25MB"}},
///     {"kind": "upload.library", "with": {"path": "library"}}
///   ]
/// }
/// ```
public struct PipelineBuilder: Sendable {
    /// The stage kinds the pipeline may use.
    public let registry: StageRegistry
    /// Environment variables for `${NAME}` and `{"env": …}`.
    public var environment: [String: String]
    /// When `true` (for `ingest check`), missing environment variables are warnings, not errors.
    public var tolerateMissingEnvironment: Bool
    /// When `true` (for `ingest status`, `retry` and `schedule`, which read only the name and the `state` block), the
    /// stages are not built: their options — secrets included — are neither needed nor checked, and the pipeline
    /// has no sources or stages.
    public var readsStateOnly = false

    /// Creates a builder.
    public init(
        registry: StageRegistry, environment: [String: String] = ProcessInfo.processInfo.environment,
        tolerateMissingEnvironment: Bool = false
    ) {
        self.registry = registry
        self.environment = environment
        self.tolerateMissingEnvironment = tolerateMissingEnvironment
    }

    /// The top-level keys of a pipeline file.
    public static let topLevelKeys = ["$schema", "name", "description", "concurrency", "state", "stages"]
    /// The keys of a stage entry.
    public static let stageKeys = ["kind", "name", "with", "when"]

    /// Builds the pipeline in the file at `path`.
    /// - Throws: ``PipelineConfigurationError`` with every mistake found.
    public func build(fileAt path: String) throws -> Pipeline {
        let result = check(fileAt: path)
        if let pipeline = result.pipeline, result.errors.isEmpty { return pipeline }
        throw PipelineConfigurationError(file: path, errors: result.errors)
    }

    /// Builds a pipeline from JSON text.
    /// - Parameters:
    ///   - data: the pipeline JSON.
    ///   - file: a name for messages (and the default pipeline name).
    ///   - baseDirectory: the folder relative paths are resolved against.
    /// - Throws: ``PipelineConfigurationError`` with every mistake found.
    public func build(data: Data, file: String, baseDirectory: String) throws -> Pipeline {
        let result = check(data: data, file: file, baseDirectory: baseDirectory)
        if let pipeline = result.pipeline, result.errors.isEmpty { return pipeline }
        throw PipelineConfigurationError(file: file, errors: result.errors)
    }

    /// The result of checking a pipeline file.
    public struct CheckResult: Sendable {
        /// The pipeline, when it could be built (it may still carry warnings).
        public var pipeline: Pipeline?
        /// Every mistake.
        public var errors: [ConfigError]
        /// Everything worth a look.
        public var warnings: [ConfigWarning]
    }

    /// Checks the file at `path` and builds it when it is valid.
    public func check(fileAt path: String) -> CheckResult {
        let absolute = PathResolution.resolve(path, against: FileManager.default.currentDirectoryPath)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: absolute))
        } catch {
            return CheckResult(
                pipeline: nil,
                errors: [ConfigError(at: .root, "cannot read \(absolute): \(ReferenceResolver.reason(error))")],
                warnings: [])
        }
        return check(data: data, file: absolute, baseDirectory: Self.projectDirectory(forPipelineAt: absolute))
    }

    /// The folder relative paths in a pipeline file are resolved against: the parent of a `pipelines/` folder, or
    /// the pipeline file's own folder.
    public static func projectDirectory(forPipelineAt path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        if (folder as NSString).lastPathComponent == "pipelines" {
            return (folder as NSString).deletingLastPathComponent
        }
        return folder.isEmpty ? "/" : folder
    }

    /// Checks JSON text and builds the pipeline when it is valid.
    public func check(data: Data, file: String, baseDirectory: String) -> CheckResult {
        var errors: [ConfigError] = []
        var warnings: [ConfigWarning] = []
        let root: JSONValue
        do {
            root = try JSONParser.parse(Array(data))
        } catch let failure as JSONParser.Failure {
            return CheckResult(
                pipeline: nil, errors: [ConfigError(at: failure.path, "not valid JSON at \(failure)")], warnings: [])
        } catch {
            return CheckResult(
                pipeline: nil, errors: [ConfigError(at: .root, "not valid JSON: \(error)")], warnings: [])
        }
        guard let members = root.objectValue else {
            return CheckResult(
                pipeline: nil,
                errors: [ConfigError(at: .root, "expected a JSON object with \"stages\", got \(root.kindDescription)")],
                warnings: [])
        }
        for key in members.keys.sorted() where !Self.topLevelKeys.contains(key) {
            errors.append(
                ConfigError(
                    at: JSONPath.root.appending(key), "unknown key \"\(key)\"",
                    suggestion: ConfigError.didYouMean(key, among: Self.topLevelKeys)))
        }

        let fileStem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var name = fileStem.isEmpty ? "pipeline" : fileStem
        if let value = members["name"] {
            if let text = value.stringValue, Self.isValidName(text) {
                name = text
            } else {
                errors.append(
                    ConfigError(
                        at: .root.appending("name"),
                        "expected a name of letters, digits, \".\", \"_\" or \"-\", got \(describe(value))"))
            }
        }
        var description = ""
        if let value = members["description"] {
            if let text = value.stringValue {
                description = text
            } else {
                errors.append(
                    ConfigError(at: .root.appending("description"), "expected a string, got \(value.kindDescription)"))
            }
        }
        var concurrency = 4
        if let value = members["concurrency"] {
            if let number = value.intValue, (1...256).contains(number) {
                concurrency = Int(number)
            } else {
                errors.append(
                    ConfigError(
                        at: .root.appending("concurrency"), "expected an integer from 1 to 256, got \(describe(value))")
                )
            }
        }

        let resolver = ReferenceResolver(
            environment: environment, baseDirectory: baseDirectory, tolerateMissing: tolerateMissingEnvironment)
        let state = decodeState(
            members["state"], name: name, baseDirectory: baseDirectory, resolver: resolver, errors: &errors,
            warnings: &warnings)

        var sources: [Pipeline.Component<any AssetSource>] = []
        var stages: [Pipeline.Component<any Stage>] = []
        var observers: [Pipeline.Component<any AssetObserver>] = []
        var complete = true
        if readsStateOnly {
            guard errors.isEmpty, let state else {
                return CheckResult(pipeline: nil, errors: errors, warnings: warnings)
            }
            let pipeline = Pipeline(
                name: name, description: description, concurrency: concurrency, sources: [], stages: [], state: state,
                file: file,
                baseDirectory: baseDirectory, warnings: [])
            return CheckResult(pipeline: pipeline, errors: [], warnings: [])
        }
        if let value = members["stages"] {
            if let entries = value.arrayValue {
                if entries.isEmpty {
                    errors.append(
                        ConfigError(at: .root.appending("stages"), "a pipeline needs at least a source stage"))
                }
                var names: [String: Int] = [:]
                // Unknown kinds count as every phase (they are errors anyway).
                let phases = entries.map { entry -> Set<StagePhase> in
                    guard let kind = entry["kind"]?.stringValue, let known = registry.entry(for: kind) else {
                        return Set(StagePhase.allCases)
                    }
                    return [known.phase]
                }
                for (index, entry) in entries.enumerated() {
                    let path = JSONPath.root.appending("stages").appending(index: index)
                    let context = StageBuildContext(
                        pipelineName: name, baseDirectory: baseDirectory, concurrency: concurrency, index: index,
                        environment: environment,
                        laterPhases: phases.dropFirst(index + 1).reduce(into: Set<StagePhase>()) { $0.formUnion($1) },
                        keepsLedger: state?.enabled ?? true)
                    switch buildStage(
                        entry, at: path, context: context, resolver: resolver, names: &names, errors: &errors,
                        warnings: &warnings)
                    {
                    case .source(let component)?:
                        if !stages.isEmpty {
                            errors.append(
                                ConfigError(
                                    at: path.appending("kind"),
                                    "source \"\(component.kind)\" must come before the processing stages"))
                        }
                        sources.append(component)
                    case .stage(let component)?:
                        if let entry = registry.entry(for: component.kind) {
                            let earlier = Set(stages.map(\.phase))
                            for needed in entry.requiredEarlierPhases where !earlier.contains(needed) {
                                let providers = registry.allEntries.filter { $0.phase == needed }.map(\.kind)
                                errors.append(
                                    ConfigError(
                                        at: path.appending("kind"),
                                        "\"\(component.name)\" needs a \(needed.rawValue) stage before it",
                                        suggestion: providers.isEmpty
                                            ? nil : "add {\"kind\": \"\(providers[0])\"} earlier in \"stages\""))
                            }
                        }
                        stages.append(component)
                    case .observer(let component)?:
                        observers.append(component)
                    case nil:
                        complete = false
                    }
                }
                if complete && sources.isEmpty && !entries.isEmpty {
                    errors.append(
                        ConfigError(
                            at: .root.appending("stages"), "a pipeline needs a source stage first",
                            suggestion: "add {\"kind\": \"source.directory\", \"with\": {\"path\": \"…\"}}"))
                }
            } else {
                errors.append(
                    ConfigError(
                        at: .root.appending("stages"), "expected an array of stages, got \(value.kindDescription)"))
            }
        } else {
            errors.append(ConfigError(at: .root, "missing \"stages\": the list of stages to run"))
        }
        warnings.append(contentsOf: Self.orderWarnings(stages: stages, firstIndex: sources.count))

        guard errors.isEmpty, complete, let state else {
            return CheckResult(pipeline: nil, errors: errors, warnings: warnings)
        }
        let pipeline = Pipeline(
            name: name, description: description, concurrency: concurrency, sources: sources, stages: stages,
            observers: observers,
            state: state, file: file, baseDirectory: baseDirectory, warnings: warnings)
        return CheckResult(pipeline: pipeline, errors: [], warnings: warnings)
    }

    private enum BuiltEntry {
        case source(Pipeline.Component<any AssetSource>)
        case stage(Pipeline.Component<any Stage>)
        case observer(Pipeline.Component<any AssetObserver>)
    }

    private func buildStage(
        _ entry: JSONValue, at path: JSONPath, context: StageBuildContext, resolver: ReferenceResolver,
        names: inout [String: Int],
        errors: inout [ConfigError], warnings: inout [ConfigWarning]
    ) -> BuiltEntry? {
        guard let members = entry.objectValue else {
            errors.append(
                ConfigError(
                    at: path, "expected a stage object like {\"kind\": \"detect.mime\"}, got \(entry.kindDescription)"))
            return nil
        }
        for key in members.keys.sorted() where !Self.stageKeys.contains(key) {
            var suggestion = ConfigError.didYouMean(key, among: Self.stageKeys)
            if suggestion == nil, members["with"] == nil { suggestion = "stage options go inside \"with\"" }
            errors.append(ConfigError(at: path.appending(key), "unknown key \"\(key)\"", suggestion: suggestion))
        }
        guard let kindValue = members["kind"] else {
            errors.append(
                ConfigError(
                    at: path, "missing \"kind\"", suggestion: "kinds are " + registry.kinds.joined(separator: ", ")))
            return nil
        }
        guard let kind = kindValue.stringValue else {
            errors.append(
                ConfigError(at: path.appending("kind"), "expected a stage kind name, got \(kindValue.kindDescription)"))
            return nil
        }
        guard let registered = registry.entry(for: kind) else {
            errors.append(
                ConfigError(
                    at: path.appending("kind"), "unknown stage kind \"\(kind)\"",
                    suggestion: ConfigError.didYouMean(kind, among: registry.kinds) ?? "see `ingest stages`"))
            return nil
        }
        var instanceName = kind
        if let value = members["name"] {
            if let text = value.stringValue, Self.isValidName(text) {
                instanceName = text
            } else {
                errors.append(
                    ConfigError(
                        at: path.appending("name"),
                        "expected a name of letters, digits, \".\", \"_\" or \"-\", got \(describe(value))"))
            }
        }
        if let earlier = names[instanceName] {
            let message =
                members["name"] == nil
                ? "stage kind \"\(kind)\" appears twice (also stages[\(earlier)])"
                : "stage name \"\(instanceName)\" is used twice (also stages[\(earlier)])"
            errors.append(
                ConfigError(
                    at: path.appending(members["name"] == nil ? "kind" : "name"), message,
                    suggestion: "give each a distinct \"name\""))
        } else {
            names[instanceName] = context.index
        }
        var condition: StageCondition?
        if let when = members["when"] {
            if registered.phase == .source {
                errors.append(ConfigError(at: path.appending("when"), "sources take no \"when\" condition"))
            } else if registered.phase == .report {
                errors.append(
                    ConfigError(
                        at: path.appending("when"),
                        "\"\(kind)\" observes every asset that leaves the pipeline; it takes no \"when\" condition",
                        suggestion: "remove \"when\""))
            } else if let values = OptionValues.decodeOptions(
                when, specs: StageCondition.specs, at: path.appending("when"), resolver: resolver, errors: &errors,
                warnings: &warnings)
            {
                condition = StageCondition(
                    mime: try? values[StageCondition.mimeOption], notMime: try? values[StageCondition.notMimeOption])
            }
        }
        let errorCount = errors.count
        guard
            let options = OptionValues.decodeOptions(
                members["with"], specs: registered.options, at: path.appending("with"), resolver: resolver,
                errors: &errors, warnings: &warnings)
        else { return nil }
        guard errors.count == errorCount else { return nil }
        var buildContext = context
        buildContext.instanceName = instanceName
        do {
            switch try registered.make(options, buildContext) {
            case .source(let source):
                return .source(
                    Pipeline.Component(source, kind: kind, name: instanceName, phase: .source, hasSideEffects: false))
            case .stage(let stage):
                return .stage(
                    Pipeline.Component(
                        stage, kind: kind, name: instanceName, phase: registered.phase,
                        hasSideEffects: registered.hasSideEffects,
                        condition: condition))
            case .observer(let observer):
                return .observer(
                    Pipeline.Component(
                        observer, kind: kind, name: instanceName, phase: .report,
                        hasSideEffects: registered.hasSideEffects))
            }
        } catch let error as ConfigError {
            errors.append(error)
        } catch let list as ConfigErrorList {
            errors.append(contentsOf: list.errors)
        } catch let error as PipelineConfigurationError {
            errors.append(contentsOf: error.errors)
        } catch {
            errors.append(ConfigError(at: path, "cannot build \"\(kind)\": \(error)"))
        }
        return nil
    }
}
