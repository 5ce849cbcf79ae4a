import Foundation
import Glibc
import Logging
import MediaIngest

/// `source.directory`: every file under a folder, filtered by globs, skipping hidden files, files too young to
/// be complete, and symbolic links that lead outside the folder.
public struct DirectorySource: AssetSource, StageDefinition {
    public static let kind = "source.directory"
    public static let phase = StagePhase.source
    public static let summary = "Files under a folder (recursive), filtered by include/exclude globs and a minimum age."

    static let path = StageOption<PathOption>("path", doc: "The folder to read (relative paths are taken from the project folder).")
    static let include = StageOption<[String]>("include", default: [], doc: "Globs of files to take (`*.jpg`, `2024/**`); empty takes every file.")
    static let exclude = StageOption<[String]>("exclude", default: [], doc: "Globs of files or folders to leave out; wins over include.")
    static let skipHidden = StageOption<Bool>("skipHidden", default: true, doc: "Leave out files and folders whose name starts with a dot.")
    static let minAge = StageOption<DurationValue>("minAge", default: DurationValue(seconds: 0), doc: "Leave files modified more recently than this for a later run (half-written files), e.g. \"60s\".")
    static let followSymlinks = StageOption<Bool>("followSymlinks", default: true, doc: "Follow symbolic links that stay inside the folder; links leading outside are always rejected.")
    static let caseSensitive = StageOption<Bool>("caseSensitive", default: false, doc: "Match globs case-sensitively (by default `*.jpg` also takes IMG.JPG).")
    static let maxDepth = StageOption<Int?>("maxDepth", doc: "Descend at most this many folders below the root (0 = only the root's files).")

    public static let options = [path.spec, include.spec, exclude.spec, skipHidden.spec, minAge.spec, followSymlinks.spec, caseSensitive.spec, maxDepth.spec]

    /// The folder.
    public let root: String
    let includes: [Glob]
    let excludes: [Glob]
    let skipsHidden: Bool
    let minimumAge: Double
    let followsLinks: Bool
    let depthLimit: Int?

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
                    errors.append(options.error(at: "\(option.name)[\(index)]", "invalid pattern \"\(pattern)\": \(error.reason)"))
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
        if let depthLimit, depthLimit < 0 { throw options.error(Self.maxDepth, "expected 0 or more, got \(depthLimit)") }
    }

    /// Creates a source programmatically.
    public init(root: String, include: [String] = [], exclude: [String] = [], skipHidden: Bool = true, minAge: Double = 0, followSymlinks: Bool = true) throws {
        self.root = PathResolution.resolve(root, against: FileManager.default.currentDirectoryPath)
        includes = try include.map { try Glob($0, caseInsensitive: true) }
        excludes = try exclude.map { try Glob($0, caseInsensitive: true) }
        skipsHidden = skipHidden
        minimumAge = minAge
        followsLinks = followSymlinks
        depthLimit = nil
    }

    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        AsyncThrowingStream { continuation in
            do {
                let events = try walk(now: Date(), context: context)
                for event in events {
                    if context.control.isStopRequested { break }
                    continuation.yield(event)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// Walks the tree and returns the events in a stable (sorted) order, preceded by an estimate.
    func walk(now: Date, context: PipelineContext) throws -> [SourceEvent] {
        let control = context.control
        let realRoot: String
        do {
            let status = try FileStatus.of(root)
            guard status.kind == .directory else { throw SourceError.notAFolder(root) }
            realRoot = try Self.realPath(root)
        } catch let error as FileError {
            throw SourceError.unreadableRoot(root, error.reason)
        }
        var events: [SourceEvent] = []
        var count = 0
        var bytes: Int64 = 0
        var visited: Set<[UInt64]> = []
        let cutoff = now.timeIntervalSince1970 - minimumAge

        func visit(directory: String, relative: String, depth: Int) {
            if control.isStopRequested { return }
            if let status = try? FileStatus.of(directory) {
                guard visited.insert([status.device, status.inode]).inserted else {
                    context.logger.warning("skipping a folder already visited (symbolic link loop)", metadata: ["folder": "\(directory)"])
                    return
                }
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            } catch {
                context.logger.warning("cannot read folder, skipping it", metadata: ["folder": "\(directory)", "reason": "\(FileSystem.describe(error))"])
                return
            }
            for name in names {
                if skipsHidden && name.hasPrefix(".") { continue }
                let path = directory + "/" + name
                let relativePath = relative.isEmpty ? name : relative + "/" + name
                guard var status = try? FileStatus.of(path, followLinks: false) else { continue }
                if status.kind == .symbolicLink {
                    guard followsLinks else { continue }
                    let item = SourceItem(origin: .file(path: path, root: root, relativePath: relativePath))
                    guard let target = try? Self.realPath(path), let targetStatus = try? FileStatus.of(path) else {
                        events.append(.rejected(item, Rejection(.unreadable, "broken symbolic link")))
                        continue
                    }
                    guard target == realRoot || target.hasPrefix(realRoot + "/") else {
                        events.append(.rejected(item, Rejection(.outsideRoot, "symbolic link leads outside \(root) (to \(target))")))
                        continue
                    }
                    status = targetStatus
                }
                switch status.kind {
                case .directory:
                    if excludes.contains(where: { Self.prunes($0, directory: relativePath) }) { continue }
                    if let depthLimit, depth >= depthLimit { continue }
                    visit(directory: path, relative: relativePath, depth: depth + 1)
                case .regular:
                    if !includes.isEmpty && !includes.contains(where: { $0.matches(relativePath) }) { continue }
                    if excludes.contains(where: { $0.matches(relativePath) }) { continue }
                    if minimumAge > 0 && status.modificationDate.timeIntervalSince1970 > cutoff {
                        events.append(.deferred(path: relativePath, reason: "modified less than \(DurationValue(seconds: minimumAge)) ago"))
                        continue
                    }
                    count += 1
                    bytes += status.size
                    events.append(
                        .item(SourceItem(
                            origin: .file(path: path, root: root, relativePath: relativePath), size: status.size,
                            modificationDate: status.modificationDate,
                            facts: ["source.mtimeNs": .int(status.modificationNanoseconds)])))
                default:
                    continue
                }
            }
        }
        visit(directory: root, relative: "", depth: 0)
        return [.estimate(count: count, bytes: bytes)] + events
    }

    /// `true` when an exclude pattern covers a whole folder (`raw`, `**/cache`, `raw/**`).
    static func prunes(_ glob: Glob, directory: String) -> Bool {
        if glob.matches(directory) { return true }
        if glob.pattern.hasSuffix("/**"), let prefix = try? Glob(String(glob.pattern.dropLast(3)), caseInsensitive: glob.caseInsensitive) {
            return prefix.matches(directory)
        }
        return false
    }

    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw FileError(path: path, operation: "resolve", code: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Why a source could not be read at all (the run ends with exit code 5).
public enum SourceError: Error, CustomStringConvertible, Sendable {
    case unreadableRoot(String, String)
    case notAFolder(String)
    case unreadableList(String, String)

    public var description: String {
        switch self {
        case .unreadableRoot(let path, let reason): return "cannot read \(path): \(reason)"
        case .notAFolder(let path): return "\(path) is not a folder"
        case .unreadableList(let path, let reason): return "cannot read the list \(path): \(reason)"
        }
    }
}
