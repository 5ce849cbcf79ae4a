import Foundation
import Glibc
import Logging
import MediaIngest
import Synchronization

/// `source.directory`: every file under a folder, filtered by globs, skipping hidden files, files too young to
/// be complete, and symbolic links that lead outside the folder.
public struct DirectorySource: AssetSource, StageDefinition {
    public static let kind = "source.directory"
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

    public static let options = [
        path.spec, include.spec, exclude.spec, skipHidden.spec, minAge.spec, followSymlinks.spec, caseSensitive.spec,
        maxDepth.spec,
    ]

    /// The folder.
    public let root: String
    let includes: [Glob]
    let excludes: [Glob]
    let skipsHidden: Bool
    let minimumAge: Double
    let followsLinks: Bool
    let depthLimit: Int?
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
        if let depthLimit, depthLimit < 0 {
            throw options.error(Self.maxDepth, "expected 0 or more, got \(depthLimit)")
        }
    }

    /// Creates a source programmatically.
    public init(
        root: String, include: [String] = [], exclude: [String] = [], skipHidden: Bool = true, minAge: Double = 0,
        followSymlinks: Bool = true
    ) throws {
        self.root = PathResolution.resolve(root, against: FileManager.default.currentDirectoryPath)
        includes = try include.map { try Glob($0, caseInsensitive: true) }
        excludes = try exclude.map { try Glob($0, caseInsensitive: true) }
        skipsHidden = skipHidden
        minimumAge = minAge
        followsLinks = followSymlinks
        depthLimit = nil
    }

    /// The files in a stable order: names sorted byte-wise within each folder, depth first. The tree is walked
    /// one entry at a time as the runner asks for more, so the first files are processed while the rest are still
    /// being listed (a large or slow tree does not hold the run up); the estimate comes when the walk ends.
    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        let walker = Walker(source: self, context: context, now: Date())
        return AsyncThrowingStream(unfolding: { try walker.next() })
    }

    /// A depth-first walk kept as an explicit stack, advanced one event at a time.
    final class Walker: Sendable {
        private struct Folder {
            var path: String
            var relative: String
            var depth: Int
            var names: [String]
            var next = 0
        }

        private struct State {
            var started = false
            var finished = false
            var realRoot = ""
            var stack: [Folder] = []
            var visited: Set<[UInt64]> = []
            var count = 0
            var bytes: Int64 = 0
            var nextListed = 0
        }

        private let source: DirectorySource
        private let context: PipelineContext
        private let cutoff: Double
        /// Only the stream's consumer calls ``next()``, one call at a time; the lock makes that safe regardless.
        private let state = Mutex(State())

        init(source: DirectorySource, context: PipelineContext, now: Date) {
            self.source = source
            self.context = context
            cutoff = now.timeIntervalSince1970 - source.minimumAge
        }

        /// The next event, or `nil` at the end (or after a stop request).
        /// - Throws: ``SourceError`` when the root cannot be read.
        func next() throws -> SourceEvent? {
            try state.withLock { state -> SourceEvent? in
                if !state.started {
                    state.started = true
                    try start(&state)
                }
                while true {
                    if context.control.isStopRequested { return nil }
                    if let top = state.stack.indices.last {
                        let folder = state.stack[top]
                        guard folder.next < folder.names.count else {
                            state.stack.removeLast()
                            continue
                        }
                        state.stack[top].next += 1
                        if let event = entry(folder.names[folder.next], in: folder, state: &state) { return event }
                    } else if let listed = source.listed, state.nextListed < listed.count {
                        state.nextListed += 1
                        if let event = listedEntry(listed[state.nextListed - 1], state: &state) { return event }
                    } else {
                        break
                    }
                }
                if state.finished || context.control.isStopRequested { return nil }
                state.finished = true
                return .estimate(count: state.count, bytes: state.bytes)
            }
        }

        private func start(_ state: inout State) throws {
            let root = source.root
            do {
                let status = try FileStatus.of(root)
                guard status.kind == .directory else { throw SourceError.notAFolder(root) }
                state.realRoot = try DirectorySource.realPath(root)
            } catch let error as FileError {
                throw SourceError.unreadableRoot(root, error.reason)
            }
            if source.listed == nil { enter(directory: root, relative: "", depth: 0, state: &state) }
        }

        /// The event for one entry of a restricted listing: the rules a walk applies on its way down (hidden and
        /// excluded folders, maxDepth, folders reached through links leaving the root) first, then the entry's own.
        private func listedEntry(_ relativePath: String, state: inout State) -> SourceEvent? {
            let components = relativePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
            let parents = Array(components.dropLast())
            if source.skipsHidden && parents.contains(where: { $0.hasPrefix(".") }) { return nil }
            for end in parents.indices {
                let folder = parents[...end].joined(separator: "/")
                if source.excludes.contains(where: { DirectorySource.prunes($0, directory: folder) }) { return nil }
            }
            if let limit = source.depthLimit, parents.count > limit { return nil }
            let parentRelative = parents.joined(separator: "/")
            let parentPath = parents.isEmpty ? source.root : source.root + "/" + parentRelative
            if !parents.isEmpty {
                // A folder on the way that is (or sits behind) a link leaving the root is never descended into.
                guard let real = try? DirectorySource.realPath(parentPath),
                    real == state.realRoot || real.hasPrefix(state.realRoot + "/"),
                    source.followsLinks || real == state.realRoot + "/" + parentRelative
                else { return nil }
            }
            let folder = Folder(path: parentPath, relative: parentRelative, depth: parents.count, names: [])
            return entry(components[components.count - 1], in: folder, state: &state)
        }

        /// Pushes a folder's sorted names, unless it was visited already (a link loop) or cannot be read.
        private func enter(directory: String, relative: String, depth: Int, state: inout State) {
            if let status = try? FileStatus.of(directory) {
                guard state.visited.insert([status.device, status.inode]).inserted else {
                    context.logger.warning(
                        "skipping a folder already visited (symbolic link loop)", metadata: ["folder": "\(directory)"])
                    return
                }
            }
            do {
                let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted {
                    $0.utf8.lexicographicallyPrecedes($1.utf8)
                }
                state.stack.append(Folder(path: directory, relative: relative, depth: depth, names: names))
            } catch {
                context.logger.warning(
                    "cannot read folder, skipping it",
                    metadata: ["folder": "\(directory)", "reason": "\(FileSystem.describe(error))"])
            }
        }

        /// The event for one folder entry, or `nil` when it yields none (skipped, or a folder entered).
        private func entry(_ name: String, in folder: Folder, state: inout State) -> SourceEvent? {
            if source.skipsHidden && name.hasPrefix(".") { return nil }
            let path = folder.path + "/" + name
            let relativePath = folder.relative.isEmpty ? name : folder.relative + "/" + name
            guard var status = try? FileStatus.of(path, followLinks: false) else { return nil }
            // Entries that are not taken are rejected with their own identity (the link's or the entry's size and
            // time), so the ledger remembers the verdict and later runs skip them until they change.
            let entry = SourceItem(
                origin: .file(path: path, root: source.root, relativePath: relativePath), size: status.size,
                modificationDate: status.modificationDate)
            if status.kind == .symbolicLink {
                guard source.followsLinks else { return nil }
                guard let target = try? DirectorySource.realPath(path), let targetStatus = try? FileStatus.of(path)
                else {
                    return .rejected(entry, Rejection(.unreadable, "broken symbolic link"))
                }
                // Nothing is read through a rejected link: the asset it becomes has no content to open.
                guard target == state.realRoot || target.hasPrefix(state.realRoot + "/") else {
                    return .rejected(
                        entry, Rejection(.outsideRoot, "symbolic link leads outside \(source.root) (to \(target))"))
                }
                status = targetStatus
            }
            switch status.kind {
            case .directory:
                if source.excludes.contains(where: { DirectorySource.prunes($0, directory: relativePath) }) {
                    return nil
                }
                if let limit = source.depthLimit, folder.depth >= limit {
                    context.logger.debug(
                        "not descending: deeper than maxDepth", metadata: ["folder": "\(relativePath)"])
                    return nil
                }
                if !(name as NSString).pathExtension.isEmpty {
                    context.logger.debug(
                        "descending into a folder whose name looks like a file's",
                        metadata: ["folder": "\(relativePath)"])
                }
                enter(directory: path, relative: relativePath, depth: folder.depth + 1, state: &state)
                return nil
            case .regular:
                if !source.includes.isEmpty && !source.includes.contains(where: { $0.matches(relativePath) }) {
                    return nil
                }
                if source.excludes.contains(where: { $0.matches(relativePath) }) { return nil }
                if source.minimumAge > 0 && status.modificationDate.timeIntervalSince1970 > cutoff {
                    return .deferred(
                        path: relativePath,
                        reason: "modified less than \(DurationValue(seconds: source.minimumAge)) ago")
                }
                state.count += 1
                state.bytes += status.size
                return .item(
                    SourceItem(
                        origin: .file(path: path, root: source.root, relativePath: relativePath), size: status.size,
                        modificationDate: status.modificationDate,
                        facts: ["source.mtimeNs": .int(status.modificationNanoseconds)]))
            case .symbolicLink, .other:
                if !source.includes.isEmpty && !source.includes.contains(where: { $0.matches(relativePath) }) {
                    return nil
                }
                if source.excludes.contains(where: { $0.matches(relativePath) }) { return nil }
                return .rejected(
                    entry, Rejection(.notRegularFile, "\(status.kindDescription): only regular files are read"))
            }
        }
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
        guard let resolved = realpath(path, nil) else { throw FileError(path: path, operation: "resolve", code: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
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
