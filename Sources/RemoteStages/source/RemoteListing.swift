import Foundation
import IngestStages
import Logging
import MediaIngest

/// Which objects `source.remote` takes: `source.directory`'s rules (include/exclude globs, hidden names), over the
/// paths the remote lists.
struct RemoteFilter: Sendable {
    let includes: [Glob]
    let excludes: [Glob]
    let skipsHidden: Bool

    init(include: [String], exclude: [String], skipHidden: Bool, options: OptionValues) throws {
        func compile(_ patterns: [String], _ name: String) throws -> [Glob] {
            try patterns.enumerated().map { index, pattern in
                do {
                    return try Glob(pattern, caseInsensitive: true)
                } catch let error as GlobError {
                    throw options.error(at: "\(name)[\(index)]", "invalid pattern \"\(pattern)\": \(error.reason)")
                }
            }
        }
        includes = try compile(include, "include")
        excludes = try compile(exclude, "exclude")
        skipsHidden = skipHidden
    }

    /// Whether a folder at `relative` is walked.
    func walks(folder relative: String, name: String) -> Bool {
        if skipsHidden && name.hasPrefix(".") { return false }
        return !excludes.contains { $0.matches(relative) || $0.matches(relative + "/") }
    }

    /// Whether an object at `relative` is taken.
    func takes(_ relative: String, name: String) -> Bool {
        if skipsHidden && name.hasPrefix(".") { return false }
        if excludes.contains(where: { $0.matches(relative) }) { return false }
        return includes.isEmpty || includes.contains { $0.matches(relative) }
    }
}

/// What the listing said of an object: the download is checked against it.
public struct RemoteObject: AssetValueKey {
    public struct Value: Codable, Sendable, Hashable {
        /// `remote:path/file`.
        public var location: String
        /// The hash the listing gave, as `md5:…` or `sha1:…`, when the source checks hashes.
        public var hash: String?
    }

    public static let name = "remote"
}

/// The walk of a remote: one folder listed at a time (`operations/list`, not recursive), names sorted byte-wise,
/// depth first — memory holds one folder's listing and the stack of folders still to list, whatever the remote holds.
struct RemoteListing {
    let source: RemoteSource
    let client: RcloneClient
    let now: Date
    /// The hash type to ask the listing for (`md5`, `sha1`), when the source checks hashes here.
    let hashType: String?
    /// Folders still to list: relative path and depth, in reverse order (the last is listed next).
    private var folders: [(path: String, depth: Int)] = [("", 0)]
    /// The objects of the folder being emitted, in reverse order: an event is made as it is taken, so a folder of
    /// 100,000 objects holds their listing entries, not 100,000 items.
    private var pending: [Listing.Entry] = []
    private var count = 0
    private var bytes: Int64 = 0
    private var estimated = false

    init(source: RemoteSource, client: RcloneClient, now: Date) async throws {
        self.source = source
        self.client = client
        self.now = now
        hashType = try await Self.hashType(for: source, client: client)
    }

    /// The hash to list with: MD5, else SHA-1, among those the backend supports — for `auto` only where the backend
    /// keeps them (not where rclone would read every object to compute them).
    static func hashType(for source: RemoteSource, client: RcloneClient) async throws -> String? {
        guard source.hashCheck != .never else { return nil }
        let info: JSONValue
        do {
            info = try await client.call("operations/fsinfo", ["fs": .string(source.root)])
        } catch let error as RcloneError {
            throw SourceError.unreadableRoot(source.root, Self.explain(error, source: source))
        }
        let supported = (info["Hashes"]?.arrayValue ?? []).compactMap(\.stringValue)
        if source.hashCheck == .auto {
            let isLocal = info["Features"]?["IsLocal"]?.boolValue == true
            let type = await backendType(of: source.root, client: client)
            if isLocal || ["local", "sftp", "ftp", "smb", "http"].contains(type) { return nil }
        }
        return ["md5", "sha1"].first { supported.contains($0) }
    }

    /// rclone's words, with what they mean for this source when they are terse.
    static func explain(_ error: RcloneError, source: RemoteSource) -> String {
        guard error.message.contains("didn't find section in config file"),
            let name = RemoteName.prefix(of: source.root)?.dropLast()
        else { return error.message }
        let config = source.configPath ?? "rclone's config (RCLONE_CONFIG, else ~/.config/rclone/rclone.conf)"
        return "no remote named \"\(name)\" in \(config)"
    }

    /// The backend's type (`s3`, `sftp`…): the config's `type` of a named remote, the name in a connection string
    /// (`:sftp,host=…:`), `local` for a path.
    static func backendType(of root: String, client: RcloneClient) async -> String {
        if root.hasPrefix(":") {
            return String(root.dropFirst().prefix { $0 != "," && $0 != ":" })
        }
        guard let prefix = RemoteName.prefix(of: root) else { return "local" }
        let section = try? await client.call("config/get", ["name": .string(String(prefix.dropLast()))])
        return section?["type"]?.stringValue ?? ""
    }

    mutating func next(context: PipelineContext) async throws -> SourceEvent? {
        while true {
            if context.control.isStopRequested { return nil }
            if let entry = pending.popLast() { return event(for: entry) }
            guard let folder = folders.popLast() else {
                if estimated { return nil }
                estimated = true
                return .estimate(count: count, bytes: bytes)
            }
            try await list(folder, context: context)
        }
    }

    private mutating func list(_ folder: (path: String, depth: Int), context: PipelineContext) async throws {
        var options: [String: JSONValue] = ["noMimeType": true]
        if let hashType {
            options["showHash"] = true
            options["hashTypes"] = [.string(hashType)]
        }
        let answer: Listing
        do {
            answer = try await client.call(
                "operations/list",
                ["fs": .string(source.root), "remote": .string(folder.path), "opt": .object(options)],
                as: Listing.self)
        } catch let error as RcloneError {
            // The root: nothing can be read (exit 5). A folder below it: the run goes on, and says what it missed.
            if folder.path.isEmpty { throw SourceError.unreadableRoot(source.root, error.message) }
            context.problems.report(RunProblem(.unlistedFolder, path: folder.path, reason: error.message))
            return
        }
        let entries = answer.list.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        var objects: [Listing.Entry] = []
        var subfolders: [(path: String, depth: Int)] = []
        for entry in entries {
            if entry.isDir {
                if let limit = source.depthLimit, folder.depth >= limit { continue }
                if source.filter.walks(folder: entry.path, name: entry.name) {
                    subfolders.append((entry.path, folder.depth + 1))
                }
                continue
            }
            guard source.filter.takes(entry.path, name: entry.name) else { continue }
            objects.append(entry)
        }
        // Depth first, in name order: this folder's objects, then each subfolder's tree.
        pending = objects.reversed()
        folders.append(contentsOf: subfolders.reversed())
    }

    /// `operations/list`'s answer, decoded straight into the fields the listing uses.
    struct Listing: Decodable, Sendable {
        struct Entry: Decodable, Sendable {
            var path: String
            var name: String
            var size: Int64?
            var modTime: String?
            var isDir: Bool
            var hashes: [String: String]?

            enum CodingKeys: String, CodingKey {
                case path = "Path", name = "Name", size = "Size", modTime = "ModTime", isDir = "IsDir"
                case hashes = "Hashes"
            }
        }
        var list: [Entry]
    }

    private mutating func event(for entry: Listing.Entry) -> SourceEvent {
        let path = entry.path
        let size = entry.size
        let modified = entry.modTime.flatMap(RemoteTime.parse)
        if let modified, source.minimumAge > 0, now.timeIntervalSince(modified.date) < source.minimumAge {
            return .deferred(path: path, reason: "modified less than minAge ago")
        }
        let location = Self.join(source.root, path)
        var item = SourceItem(origin: .remote(location: location, root: source.root, relativePath: path))
        item.size = size.map { $0 < 0 ? nil : $0 } ?? nil
        item.modificationDate = modified?.date
        if let nanoseconds = modified?.nanoseconds { item.facts["source.mtimeNs"] = .int(nanoseconds) }
        var object = RemoteObject.Value(location: location)
        if let hashType, let hash = entry.hashes?[hashType], !hash.isEmpty {
            object.hash = hashType + ":" + hash.lowercased()
        }
        item.values[RemoteObject.self] = object
        count += 1
        bytes += item.size ?? 0
        return .item(item)
    }

    /// `remote:dir` + `a/b.jpg` → `remote:dir/a/b.jpg` (`remote:` + `a.jpg` → `remote:a.jpg`).
    static func join(_ root: String, _ relative: String) -> String {
        if root.hasSuffix(":") || root.hasSuffix("/") { return root + relative }
        return root + "/" + relative
    }
}

/// rclone's `ModTime` (RFC 3339 with up to nanoseconds).
enum RemoteTime {
    static func parse(_ text: String) -> (date: Date, nanoseconds: Int64)? {
        // Split off the fraction: ISO8601DateFormatter keeps milliseconds at most, the ledger wants nanoseconds.
        var whole = text
        var fraction: Int64 = 0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[text.index(after: dot)...].firstIndex { !$0.isNumber } ?? text.endIndex
            let digits = String(text[text.index(after: dot)..<digitsEnd].prefix(9))
            fraction = (Int64(digits) ?? 0) * Int64(pow(10, Double(9 - digits.count)))
            whole = String(text[..<dot]) + String(text[digitsEnd...])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: whole) else { return nil }
        let seconds = Int64(date.timeIntervalSince1970)
        return (date.addingTimeInterval(Double(fraction) / 1e9), seconds * 1_000_000_000 + fraction)
    }
}
