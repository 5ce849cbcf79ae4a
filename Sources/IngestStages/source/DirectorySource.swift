import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest
import Synchronization

/// `source.directory`: every file under a folder, filtered by globs, skipping hidden files, files too young to
/// be complete, and symbolic links that lead outside the folder. Sidecars (XMP, AAE, Takeout JSON) travel with their
/// media and are never items of their own; a Live Photo's still and video come as one group.
public struct DirectorySource: AssetSource, StageDefinition {
    public static let kind = "source.directory"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(.outsideRoot, "a symbolic link leads outside the folder (never read through)"),
        .notRegularFile, .unreadable, .orphanSidecar, .sidecarTooLarge, .sidecarMalformed,
    ]
    public static let phase = StagePhase.source
    public static let summary = "Files under a folder (recursive), filtered by include/exclude globs and a minimum age."

    static let path = StageOption<PathOption>(
        "path", doc: "The folder to read (relative paths are taken from the project folder).")
    static let include = StageOption<[String]>(
        "include", default: [], doc: "Globs of files to take (`*.jpg`, `2024/**`); empty takes every file.")
    static let exclude = StageOption<[String]>(
        "exclude", default: [], doc: "Globs of files or folders to leave out; wins over include.")
    static let skipHidden = StageOption<Bool>(
        "skipHidden", default: true, doc: "Leave out files and folders whose name starts with a dot.")
    static let minAge = StageOption<DurationValue>(
        "minAge", default: DurationValue(seconds: 0),
        doc: "Leave files modified more recently than this for a later run (half-written files), e.g. \"60s\".")
    static let followSymlinks = StageOption<Bool>(
        "followSymlinks", default: true,
        doc: "Follow symbolic links that stay inside the folder; links leading outside are always rejected.")
    static let caseSensitive = StageOption<Bool>(
        "caseSensitive", default: false, doc: "Match globs case-sensitively (by default `*.jpg` also takes IMG.JPG).")
    static let maxDepth = StageOption<Int?>(
        "maxDepth", doc: "Descend at most this many folders below the root (0 = only the root's files).")

    public static let options =
        [
            path.spec, include.spec, exclude.spec, skipHidden.spec, minAge.spec, followSymlinks.spec,
            caseSensitive.spec, maxDepth.spec,
        ] + CompanionSettings.specs

    /// The folder.
    public let root: String
    let includes: [Glob]
    let excludes: [Glob]
    let skipsHidden: Bool
    let minimumAge: Double
    let followsLinks: Bool
    let depthLimit: Int?
    /// Sidecars and Live Photos.
    let companions: CompanionSettings
    /// Set for a watcher's batch: only these entries (relative paths, sorted, unique) are listed.
    var listed: [String]?

    public init(options: OptionValues, context: StageBuildContext) throws {
        root = try options[Self.path].path
        let caseInsensitive = try !options[Self.caseSensitive]
        func compile(_ patterns: [String], _ option: StageOption<[String]>) throws -> [Glob] {
            var globs: [Glob] = []
            var errors: [ConfigError] = []
            for (index, pattern) in patterns.enumerated() {
                do {
                    globs.append(try Glob(pattern, caseInsensitive: caseInsensitive))
                } catch let error as GlobError {
                    errors.append(
                        options.error(at: "\(option.name)[\(index)]", "invalid pattern \"\(pattern)\": \(error.reason)")
                    )
                }
            }
            if errors.count == 1 { throw errors[0] }
            if errors.count > 1 { throw ConfigErrorList(errors: errors) }
            return globs
        }
        includes = try compile(try options[Self.include], Self.include)
        excludes = try compile(try options[Self.exclude], Self.exclude)
        skipsHidden = try options[Self.skipHidden]
        minimumAge = try options[Self.minAge].seconds
        followsLinks = try options[Self.followSymlinks]
        depthLimit = try options[Self.maxDepth]
        companions = try CompanionSettings(options: options)
        if let depthLimit, depthLimit < 0 {
            throw options.error(Self.maxDepth, "expected 0 or more, got \(depthLimit)")
        }
    }

    /// Creates a source programmatically.
    public init(
        root: String, include: [String] = [], exclude: [String] = [], skipHidden: Bool = true, minAge: Double = 0,
        followSymlinks: Bool = true, sidecars: SidecarMode = .skip,
        sidecarKeep: Set<SidecarKeep> = SidecarKeep.defaults, livePhotos: LivePhotoMode = .pair
    ) throws {
        self.root = PathResolution.resolve(root, against: FileManager.default.currentDirectoryPath)
        includes = try include.map { try Glob($0, caseInsensitive: true) }
        excludes = try exclude.map { try Glob($0, caseInsensitive: true) }
        skipsHidden = skipHidden
        minimumAge = minAge
        followsLinks = followSymlinks
        depthLimit = nil
        companions = CompanionSettings(mode: sidecars, keep: sidecarKeep, livePhotos: livePhotos)
    }

    /// The files in a stable order: names sorted byte-wise within each folder, depth first. The tree is walked
    /// one entry at a time as the runner asks for more, so the first files are processed while the rest are still
    /// being listed (a large or slow tree does not hold the run up); the estimate comes when the walk ends.
    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        let walker = Walker(source: self, context: context, now: Date())
        return AsyncThrowingStream(unfolding: { try walker.next() })
    }

    /// `true` when an exclude pattern covers a whole folder (`raw`, `**/cache`, `raw/**`).
    static func prunes(_ glob: Glob, directory: String) -> Bool {
        if glob.matches(directory) { return true }
        if glob.pattern.hasSuffix("/**"),
            let prefix = try? Glob(String(glob.pattern.dropLast(3)), caseInsensitive: glob.caseInsensitive)
        {
            return prefix.matches(directory)
        }
        return false
    }

    static func realPath(_ path: String) throws -> String {
        guard let resolved = path.withPlatformPath({ realpath($0, nil) }) else {
            throw FileError(path: path, operation: "resolve", code: errno)
        }
        defer { free(resolved) }
        return FileName.decode(cString: resolved)
    }
}

/// Why a source could not be read at all (the run ends with exit code 5): a struct with an extensible ``Code`` (as
/// swift-nio's `FileSystemError`).
public struct SourceError: Error, CustomStringConvertible, Sendable {
    /// The kind of trouble.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unreadableRoot, notAFolder, unreadableList, unreadableQueue
        }
        private let value: Value

        /// The source's folder cannot be read.
        public static let unreadableRoot = Code(value: .unreadableRoot)
        /// The source's path is not a folder.
        public static let notAFolder = Code(value: .notAFolder)
        /// A `source.list` file (or standard input) cannot be read.
        public static let unreadableList = Code(value: .unreadableList)
        /// A `source.queue`'s queue cannot be read (no shared ledger, or the database is unreachable).
        public static let unreadableQueue = Code(value: .unreadableQueue)

        public var description: String { value.rawValue }
    }

    /// The kind of trouble.
    public var code: Code
    /// The folder or list.
    public var path: String
    /// Why, in words (empty when the code says it all).
    public var reason: String

    public static func unreadableRoot(_ path: String, _ reason: String) -> SourceError {
        SourceError(code: .unreadableRoot, path: path, reason: reason)
    }

    public static func notAFolder(_ path: String) -> SourceError {
        SourceError(code: .notAFolder, path: path, reason: "")
    }

    public static func unreadableList(_ path: String, _ reason: String) -> SourceError {
        SourceError(code: .unreadableList, path: path, reason: reason)
    }

    public static func unreadableQueue(_ pipeline: String, _ reason: String) -> SourceError {
        SourceError(code: .unreadableQueue, path: pipeline, reason: reason)
    }

    public var description: String {
        switch code {
        case .notAFolder: return "\(path) is not a folder"
        case .unreadableList: return "cannot read the list \(path): \(reason)"
        case .unreadableQueue: return "cannot read the queue of \(path): \(reason)"
        default: return "cannot read \(path): \(reason)"
        }
    }
}
