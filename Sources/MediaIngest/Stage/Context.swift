import Foundation
import Glibc
import Logging
import Synchronization

/// What every component may know about the run it is part of.
public struct PipelineContext: Sendable {
    /// The pipeline's name.
    public let pipelineName: String
    /// A unique id for this run (`20261124T101500Z-3f9c`).
    public let runID: String
    /// When the run started.
    public let startDate: Date
    /// The run's logger. Components add metadata to copies; they never bootstrap logging.
    public let logger: Logger
    /// A private folder for this run's work files; removed when the run ends.
    public let workDirectory: String
    /// The folder relative paths are resolved against.
    public let baseDirectory: String
    /// The number of workers.
    public let concurrency: Int
    /// `true` under `--dry-run`: stages with side effects are not called.
    public let isDryRun: Bool
    /// Lets sources notice a stop request.
    public let control: RunControl
    /// A private folder in memory (tmpfs) for small work files, when the machine has one (see ``ScratchSpace``);
    /// removed when the run ends. ``StageContext/makeWorkFile(named:sizeHint:)`` decides which folder a file goes to.
    public let scratchDirectory: String?
    /// What components of this run share (a Wix site's connection); closed when the run ends.
    public let resources: RunResources
    /// The run's ledger, if it has one.
    public let ledger: (any AssetLedger)?
    /// What the run's state supplies besides the ledger: a shared work queue (`source.queue`), a request budget
    /// shared by hosts (``StateServices``). Empty for a local ledger, under dry-run, or without state.
    public let services: StateServices
    /// The pipeline's `state.dedupe`: with ``StateSettings/Dedupe/target``, upload stages look for the bytes at the
    /// target before sending them.
    public let dedupe: StateSettings.Dedupe
    /// What the run could not do outside any one asset (a folder it could not list, lines it could not write):
    /// each makes the run's exit code 1 (see ``RunProblem``).
    public let problems: RunProblems
    /// The pipeline's sources, in the pipeline file's order (``source(of:)``).
    public let sources: [any AssetSource]

    /// Creates a context (the runner does this; tests may too).
    public init(
        pipelineName: String, runID: String, startDate: Date = Date(), logger: Logger, workDirectory: String,
        baseDirectory: String, concurrency: Int, isDryRun: Bool = false, control: RunControl = RunControl(),
        scratchDirectory: String? = nil,
        resources: RunResources = RunResources(), ledger: (any AssetLedger)? = nil,
        services: StateServices = .none, dedupe: StateSettings.Dedupe = .off, problems: RunProblems = RunProblems(),
        sources: [any AssetSource] = []
    ) {
        self.problems = problems
        self.sources = sources
        self.pipelineName = pipelineName
        self.runID = runID
        self.startDate = startDate
        self.logger = logger
        self.workDirectory = workDirectory
        self.baseDirectory = baseDirectory
        self.concurrency = concurrency
        self.isDryRun = isDryRun
        self.control = control
        self.scratchDirectory = scratchDirectory
        self.resources = resources
        self.ledger = ledger
        self.services = services
        self.dedupe = dedupe
    }
}

/// What a stage knows while it processes one asset.
public struct StageContext: Sendable {
    /// The run.
    public let pipeline: PipelineContext
    /// A logger with `asset` and `stage` metadata.
    public var logger: Logger
    /// The worker running this asset, `0..<pipeline.concurrency`. No two concurrent `process` calls share it,
    /// so per-worker resources (a libmagic handle) can be indexed by it.
    public let worker: Int
    /// The stage's instance name in the pipeline.
    public let stageName: String
    /// The asset's private work folder (created on first use, removed when the asset leaves the pipeline).
    public let assetWorkDirectory: String
    /// The run's ledger, if it has one (see ``checkpoint(_:)``).
    public let ledger: (any AssetLedger)?

    /// Which of the asset's work folders exist, so the runner removes only those (no stat per asset).
    let workFolders: WorkFolders

    /// Creates a context (the runner does this; tests may too).
    public init(
        pipeline: PipelineContext, logger: Logger, worker: Int, stageName: String, assetWorkDirectory: String,
        ledger: (any AssetLedger)? = nil
    ) {
        self.init(
            pipeline: pipeline, logger: logger, worker: worker, stageName: stageName,
            assetWorkDirectory: assetWorkDirectory, ledger: ledger,
            workFolders: WorkFolders())
    }

    init(
        pipeline: PipelineContext, logger: Logger, worker: Int, stageName: String, assetWorkDirectory: String,
        ledger: (any AssetLedger)?,
        workFolders: WorkFolders
    ) {
        self.pipeline = pipeline
        self.logger = logger
        self.worker = worker
        self.stageName = stageName
        self.assetWorkDirectory = assetWorkDirectory
        self.ledger = ledger
        self.workFolders = workFolders
    }

    /// The asset's folder in the run's memory-backed scratch space, if the run has one.
    public var assetScratchDirectory: String? {
        pipeline.scratchDirectory.map { $0 + "/" + (assetWorkDirectory as NSString).lastPathComponent }
    }

    /// A path for a new work file in the asset's work folder. The file is not created.
    /// Later stages read it through ``Asset/contentPath``; the runner deletes it when the asset is done.
    /// - Parameters:
    ///   - name: a file name; the stage name is prefixed to keep stages apart.
    ///   - sizeHint: how large the file will about be. A small file goes to the memory-backed scratch folder when
    ///     the run has one with room to spare (creating and deleting thousands of files on a journaling file system
    ///     was half the cost of `strip.metadata`); without a hint, or for large files, the disk-backed work folder.
    /// - Throws: when the work folder cannot be created.
    public func makeWorkFile(named name: String, sizeHint: Int64? = nil) throws -> String {
        let folder: String
        if let sizeHint, let scratch = assetScratchDirectory, let root = pipeline.scratchDirectory,
            ScratchSpace.hasRoom(at: root, for: sizeHint, concurrency: pipeline.concurrency)
        {
            folder = scratch
            try Self.makeFolder(scratch)
            workFolders.mark(.scratch)
        } else {
            folder = try makeWorkDirectory()
        }
        let safe = name.map { $0 == "/" || $0 == "\0" ? "_" : $0 }
        return folder + "/" + stageName.replacingOccurrences(of: "/", with: "_") + "-" + String(safe)
    }

    /// Creates the asset's disk-backed work folder (``assetWorkDirectory``) if needed and returns its path. Use it
    /// (or ``makeWorkFile(named:sizeHint:)``) before writing there: the runner removes the folders made this way as
    /// soon as the asset leaves the pipeline; anything else written there stays until the run ends.
    /// - Throws: when the folder cannot be created.
    @discardableResult
    public func makeWorkDirectory() throws -> String {
        try Self.makeFolder(assetWorkDirectory)
        workFolders.mark(.disk)
        return assetWorkDirectory
    }

    /// One mkdir in the common case (the run's work folder exists); FileManager's stats only when it does not.
    private static func makeFolder(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }
}

/// Which of one asset's work folders were created (shared by the stage contexts of that asset).
final class WorkFolders: Sendable {
    struct Kind: OptionSet {
        let rawValue: UInt8
        static let disk = Kind(rawValue: 1)
        static let scratch = Kind(rawValue: 2)
    }

    private let made = Atomic<UInt8>(0)

    func mark(_ kind: Kind) { made.bitwiseOr(kind.rawValue, ordering: .relaxed) }

    func contains(_ kind: Kind) -> Bool { made.load(ordering: .relaxed) & kind.rawValue != 0 }
}

/// Lets the CLI (signals) and stages (fatal errors) stop a run. Thread-safe.
///
/// A *stop* drains: no new asset starts, assets in flight finish. An *abort* is a stop caused by an error that no
/// asset can get past; its reason ends up in the report.
public final class RunControl: Sendable {
    private struct State {
        var stopReason: String?
        var abortReason: String?
    }

    private let state = Mutex(State())

    /// Creates a control with no stop requested.
    public init() {}

    /// Asks the run to stop taking new assets; in-flight assets finish.
    public func requestStop(reason: String = "stop requested") {
        state.withLock { state in
            if state.stopReason == nil { state.stopReason = reason }
        }
    }

    /// Stops the run because of an error no asset can get past.
    public func abort(reason: String) {
        state.withLock { state in
            if state.abortReason == nil { state.abortReason = reason }
            if state.stopReason == nil { state.stopReason = reason }
        }
    }

    /// `true` once a stop or an abort was requested.
    public var isStopRequested: Bool { state.withLock { $0.stopReason != nil } }

    /// Why the run was stopped, if it was.
    public var stopReason: String? { state.withLock { $0.stopReason } }

    /// Why the run was aborted, if it was.
    public var abortReason: String? { state.withLock { $0.abortReason } }
}

/// Where small work files go: a tmpfs folder (memory) when the machine has one, so that writing and deleting them costs
/// no journal and no disk.
public enum ScratchSpace {
    /// The largest work file placed in scratch space.
    public static let maximumFileSize: Int64 = 64 << 20

    /// The scratch parent to use: `$XDG_RUNTIME_DIR` (the user's own tmpfs) or `/dev/shm`, whichever is a writable
    /// tmpfs first; `nil` when neither is.
    public static func automaticParent(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let candidates = [environment["XDG_RUNTIME_DIR"], "/dev/shm"].compactMap { $0 }.filter { !$0.isEmpty }
        return candidates.first { isTmpfs($0) && access($0, W_OK | X_OK) == 0 }
    }

    /// `true` when `path` is on tmpfs, by the mount table (`/proc/self/mounts`: the longest mount point above it).
    public static func isTmpfs(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return false }
        let target = (path as NSString).standardizingPath
        var best: (point: String, type: String)?
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Mount points escape spaces as \040.
            let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let covers = point == "/" || target == point || target.hasPrefix(point + "/")
            if covers, point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        return best?.type == "tmpfs"
    }

    /// `true` when a file of `size` bytes fits with room to spare: at most ``maximumFileSize``, and free space for every
    /// worker to hold two such files plus 64 MiB.
    public static func hasRoom(at path: String, for size: Int64, concurrency: Int) -> Bool {
        guard size >= 0, size <= maximumFileSize else { return false }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return false }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        return free >= size * Int64(max(concurrency, 1)) * 2 + (64 << 20)
    }
}
