import Foundation
import Logging
import MediaIngest
import Synchronization

/// Runs one stage over files, without a pipeline file or the CLI — the way to unit-test a stage.
///
/// ```swift
/// let harness = StageHarness(try MyStage(options: .decode(["level": 3], specs: MyStage.options),
///                                         context: StageHarness.buildContext()))
/// let outcome = try await harness.process(file: "/path/photo.jpg")
/// #expect(outcome.asset?.facts["my"] != nil)
/// ```
public struct StageHarness<S: Stage>: Sendable {
    /// The stage under test.
    public let stage: S
    /// The run context the stage sees.
    public let context: PipelineContext
    /// Removes the work folder when the last copy of the harness and the last outcome it returned go (or at
    /// ``cleanUp()``).
    private let workFolder: WorkFolder

    /// Wraps a stage. A private work folder is made under the temporary folder; it is removed when neither the harness
    /// nor any outcome it returned is left, so the files an outcome points at stay readable while it is held.
    public init(
        _ stage: S, concurrency: Int = 1,
        logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.stage = stage
        let runID = "test-\(UUID().uuidString.prefix(8))"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(runID)").path
        self.context = PipelineContext(
            pipelineName: "test", runID: runID, logger: logger, workDirectory: work,
            baseDirectory: FileManager.default.currentDirectoryPath, concurrency: concurrency)
        self.workFolder = WorkFolder(path: work)
    }

    /// A build context for constructing stages in tests.
    public static func buildContext(
        baseDirectory: String = FileManager.default.currentDirectoryPath, concurrency: Int = 1
    ) -> StageBuildContext {
        StageBuildContext(
            pipelineName: "test", baseDirectory: baseDirectory, concurrency: concurrency, instanceName: "test")
    }

    /// Calls `prepare`, then processes an asset made from `file`.
    /// - Parameters:
    ///   - file: an absolute path.
    ///   - worker: the worker index the stage sees.
    ///   - configure: adjusts the asset before the stage sees it (set a MIME type, for instance).
    /// - Returns: the stage's outcome.
    public func process(
        file: String, worker: Int = 0, configure: (inout Asset) -> Void = { _ in }
    ) async throws -> HarnessOutcome {
        try await stage.prepare(context)
        var asset = Self.asset(for: file)
        configure(&asset)
        return try await process(asset, worker: worker)
    }

    /// Processes an asset made from `file` through `earlier` stages first — the ones the stage relies on, such as
    /// `detect.mime` before `validate` — then through this one. An earlier stage's rejection is returned as is.
    public func process(file: String, after earlier: any Stage..., worker: Int = 0) async throws -> HarnessOutcome {
        var asset = Self.asset(for: file)
        for stage in earlier {
            try await stage.prepare(context)
            let stageContext = StageContext(
                pipeline: context, logger: context.logger, worker: worker,
                stageName: String(describing: type(of: stage)),
                assetWorkDirectory: context.workDirectory + "/\(asset.id)")
            switch try await Self.applyingErrorPolicy(
                asset, stage: nil, { try await stage.process($0, context: stageContext) })
            {
            case .next(let next): asset = next
            case .reject(let rejected, let rejection):
                return HarnessOutcome(.rejected(rejected, rejection), keeping: workFolder)
            }
        }
        try await stage.prepare(context)
        return try await process(asset, worker: worker)
    }

    /// Processes an asset (call `prepare` yourself, once, when the stage needs it).
    public func process(_ asset: Asset, worker: Int = 0) async throws -> HarnessOutcome {
        let stageContext = StageContext(
            pipeline: context, logger: context.logger, worker: worker,
            stageName: (S.self as? any StageDefinition.Type)?.kind ?? "stage",
            assetWorkDirectory: context.workDirectory + "/\(asset.id)")
        let kind = (S.self as? any StageDefinition.Type)?.kind
        switch try await Self.applyingErrorPolicy(
            asset, stage: kind, { try await stage.process($0, context: stageContext) })
        {
        case .next(let next): return HarnessOutcome(.next(next), keeping: workFolder)
        case .reject(let rejected, let rejection):
            return HarnessOutcome(.rejected(rejected, rejection), keeping: workFolder)
        }
    }

    /// Runs `body` as the runner runs a stage: an error that classifies itself as a verdict about the bytes
    /// (``ErrorPolicy``) rejects the asset; any other error is rethrown for the test to see.
    static func applyingErrorPolicy(
        _ asset: Asset, stage: String?, _ body: (Asset) async throws -> StageOutcome
    ) async throws -> StageOutcome {
        do {
            return try await body(asset)
        } catch {
            guard case .rejected(let rejection) = ErrorPolicy.outcome(of: error, stage: stage) else { throw error }
            return .reject(asset, rejection)
        }
    }

    /// An asset for a local file, as `source.directory` would make it.
    public static func asset(for file: String, id: Int = 1) -> Asset {
        let status = try? FileStatus.of(file)
        let root = (file as NSString).deletingLastPathComponent
        return Asset(
            id: id, origin: .file(path: file, root: root, relativePath: (file as NSString).lastPathComponent),
            fileName: (file as NSString).lastPathComponent, contentPath: file, size: status?.size,
            modificationDate: status?.modificationDate)
    }

    /// Removes the harness's work folder now (it goes anyway when the harness and its outcomes do).
    public func cleanUp() { workFolder.remove() }
}

/// A harness's work folder, removed when the last harness or outcome sharing it is released.
final class WorkFolder: Sendable {
    let path: String
    init(path: String) { self.path = path }
    func remove() { FileSystem.removeTree(path) }
    deinit { remove() }
}

/// A stage's outcome, with accessors that read well in tests. It keeps the harness's work folder alive: the files its
/// asset points at (`contentPath`, say) can be read for as long as the outcome is held.
public struct HarnessOutcome: Sendable {
    /// What the stage returned.
    public enum Result: Sendable {
        case next(Asset)
        case rejected(Asset, Rejection)
    }

    /// What the stage returned.
    public let result: Result
    private let workFolder: WorkFolder

    init(_ result: Result, keeping workFolder: WorkFolder) {
        self.result = result
        self.workFolder = workFolder
    }

    /// The asset when the stage let it continue.
    public var asset: Asset? {
        if case .next(let asset) = result { return asset }
        return nil
    }

    /// The rejection when the stage rejected the asset.
    public var rejection: Rejection? {
        if case .rejected(_, let rejection) = result { return rejection }
        return nil
    }
}

/// A source that yields the files (or URLs) it is given, in order — for pipelines built in tests.
public struct InMemorySource: AssetSource, StageDefinition {
    public static let kind = "test.source"
    public static let phase = StagePhase.source
    public static let summary = "Yields the given files (tests)."
    static let filesOption = StageOption<[String]>("files", default: [], doc: "Absolute paths or URLs.")
    public static let options = [filesOption.spec]

    /// The items to yield.
    public let items: [SourceItem]

    /// A source of local files (absolute paths) or URLs (strings starting with `http`).
    public init(files: [String]) {
        items = files.map { file in
            if file.hasPrefix("http://") || file.hasPrefix("https://") { return SourceItem(origin: .url(file)) }
            let status = try? FileStatus.of(file)
            return SourceItem(
                origin: .file(
                    path: file, root: (file as NSString).deletingLastPathComponent,
                    relativePath: (file as NSString).lastPathComponent),
                size: status?.size, modificationDate: status?.modificationDate)
        }
    }

    public init(options: OptionValues, context: StageBuildContext) throws {
        self.init(files: try options[Self.filesOption])
    }

    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.estimate(count: items.count, bytes: items.reduce(0) { $0 + ($1.size ?? 0) }))
            for item in items {
                if context.control.isStopRequested { break }
                continuation.yield(.item(item))
            }
            continuation.finish()
        }
    }
}

/// A stage that records every asset that reaches it and passes it on — the end of a test pipeline.
public struct CollectingStage: Stage, StageDefinition {
    public static let kind = "test.collect"
    public static let phase = StagePhase.transform
    public static let summary = "Records the assets that reach it (tests)."
    public static let options: [OptionSpec] = []

    private let box = Collected()

    /// Creates an empty collector.
    public init() {}

    public init(options: OptionValues, context: StageBuildContext) throws {}

    /// The assets that reached the stage, in arrival order.
    public var assets: [Asset] { box.assets.withLock { $0 } }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        box.assets.withLock { $0.append(asset) }
        return .next(asset)
    }

    final class Collected: Sendable {
        let assets = Mutex<[Asset]>([])
    }
}

extension Pipeline {
    /// A pipeline for tests: an in-memory source over `files`, then `stages`.
    public static func testing(
        files: [String], stages: [Pipeline.Component<any Stage>], concurrency: Int = 2, name: String = "test",
        baseDirectory: String = FileManager.default.currentDirectoryPath
    ) -> Pipeline {
        Pipeline(
            name: name, concurrency: concurrency, sources: [Pipeline.Component(InMemorySource(files: files))],
            stages: stages,
            baseDirectory: baseDirectory)
    }
}

/// A temporary folder removed when the value is released (tests).
public final class TemporaryDirectory: Sendable {
    /// The folder's absolute path.
    public let path: String

    /// Creates a fresh folder under the system's temporary folder.
    public init(prefix: String = "ingest-test") {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
