import Foundation
import Glibc
import MediaIngest
import Synchronization

/// `source.list`: paths or URLs, one per line, from a file or standard input.
///
/// Blank lines and lines starting with `#` are ignored. `http://` and `https://` lines become URL assets (imported
/// by URL where the upload stage supports it); other lines are local paths, relative to the list file's folder
/// (or to the project folder for standard input). A listed file's sidecars (found beside it, by their names) travel
/// with it; a listed sidecar is never an item: it goes with its media, or is reported as an orphan.
public struct ListSource: AssetSource, StageDefinition {
    public static let kind = "source.list"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .notRegularFile, .unreadable, .orphanSidecar, .sidecarTooLarge, .sidecarMalformed,
        .rejection(.typeNotAllowed, "a URL, when the pipeline does not accept URLs (`allowURLs: false`)"),
    ]
    public static let phase = StagePhase.source
    public static let summary = "Paths or URLs, one per line, from a file or standard input (\"-\")."

    static let file = StageOption<String>("file", doc: "The list file, or \"-\" for standard input.")
    static let allowURLs = StageOption<Bool>(
        "allowURLs", default: true, doc: "Accept http(s) URLs (imported by URL); when false they are rejected.")
    public static let options = [file.spec, allowURLs.spec] + CompanionSettings.specs

    let listPath: String?
    let relativeBase: String
    let acceptsURLs: Bool
    let companions: CompanionSettings

    public init(options: OptionValues, context: StageBuildContext) throws {
        let written = try options[Self.file]
        if written == "-" {
            listPath = nil
            relativeBase = context.baseDirectory
        } else {
            guard !written.isEmpty else { throw options.error(Self.file, "expected a file path or \"-\"") }
            let path = PathResolution.resolve(written, against: context.baseDirectory)
            listPath = path
            relativeBase = (path as NSString).deletingLastPathComponent
        }
        acceptsURLs = try options[Self.allowURLs]
        companions = try CompanionSettings(options: options)
    }

    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        AsyncThrowingStream { continuation in
            let stopped = Mutex(false)
            continuation.onTermination = { _ in stopped.withLock { $0 = true } }
            // Lines are read with blocking getline(3) on a thread of their own, so a slow standard input never
            // holds one of Swift's cooperative threads.
            let thread = Thread {
                let stream: UnsafeMutablePointer<FILE>?
                if let listPath {
                    stream = fopen(listPath, "r")
                    if stream == nil {
                        continuation.finish(
                            throwing: SourceError.unreadableList(listPath, String(cString: strerror(errno))))
                        return
                    }
                } else {
                    stream = fdopen(dup(STDIN_FILENO), "r")
                }
                guard let stream else {
                    continuation.finish(
                        throwing: SourceError.unreadableList("standard input", String(cString: strerror(errno))))
                    return
                }
                defer { fclose(stream) }
                var buffer: UnsafeMutablePointer<CChar>?
                var capacity = 0
                defer { free(buffer) }
                var folders = ListCompanions(settings: companions)
                while getline(&buffer, &capacity, stream) >= 0, let buffer {
                    if context.control.isStopRequested || stopped.withLock({ $0 }) { break }
                    let line = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
                    if line.isEmpty || line.hasPrefix("#") { continue }
                    for event in folders.events(for: event(for: line)) { continuation.yield(event) }
                }
                continuation.finish()
            }
            thread.start()
        }
    }

    func event(for line: String) -> SourceEvent {
        Self.event(for: line, relativeBase: relativeBase, acceptsURLs: acceptsURLs)
    }

    /// The event for one line: a URL item, a local file item (paths relative to `relativeBase`), or a rejection.
    static func event(for line: String, relativeBase: String, acceptsURLs: Bool) -> SourceEvent {
        let lowered = line.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            let item = SourceItem(origin: .url(line))
            guard acceptsURLs else {
                return .rejected(
                    item, Rejection(.typeNotAllowed, "URLs are not accepted by this pipeline (allowURLs is false)"))
            }
            guard let url = URL(string: line), url.host != nil else {
                return .rejected(item, Rejection(.unreadable, "not a valid URL"))
            }
            return .item(item)
        }
        let path = PathResolution.resolve(line, against: relativeBase)
        let directory = (path as NSString).deletingLastPathComponent
        let item = SourceItem(origin: .file(path: path, root: directory, relativePath: line))
        do {
            let status = try FileStatus.of(path)
            guard status.kind == .regular else {
                return .rejected(
                    item, Rejection(.notRegularFile, "\(status.kindDescription): only regular files are read"))
            }
            var found = item
            found.size = status.size
            found.modificationDate = status.modificationDate
            found.facts["source.mtimeNs"] = .int(status.modificationNanoseconds)
            return .item(found)
        } catch {
            return .failed(item, error)
        }
    }
}

/// What `source.list` does with companions: each listed file is looked at beside its folder's other names (the last
/// few folders' names are kept, so a list in folder order reads each folder once).
struct ListCompanions {
    let settings: CompanionSettings
    private var folders: [String: FolderCompanions] = [:]
    private var order: [String] = []
    /// Videos already sent as half of a Live Photo group (their own line comes later).
    private var grouped: Set<String> = []

    init(settings: CompanionSettings) { self.settings = settings }

    /// The events for one line's event: the item with its sidecars, a group, an orphan's rejection, or nothing for
    /// a sidecar that travels with its media.
    mutating func events(for event: SourceEvent) -> [SourceEvent] {
        guard case .item(var item) = event, case .file(let path, let root, let relativePath) = item.origin else {
            return [event]
        }
        if grouped.remove(path) != nil { return [] }
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let companions = self.companions(of: folder)
        let pairing = companions.pairing
        if pairing.sidecarNames.contains(name) {
            guard let reason = pairing.orphans[name] else { return [] }
            return [.rejected(item, Rejection(.orphanSidecar, reason + "; not uploaded"))]
        }
        if pairing.unpairedJSON.contains(name), settings.isTakeoutOrphan(path) {
            return [
                .rejected(
                    item,
                    Rejection(.orphanSidecar, "Google Takeout metadata with no media file beside it; not uploaded"))
            ]
        }
        let relativeFolder = (relativePath as NSString).deletingLastPathComponent
        var events: [SourceEvent] = []
        func attach(_ item: inout SourceItem, name: String) -> String? {
            guard let matches = pairing.sidecars[name] else { return nil }
            let result = settings.attach(
                matches, to: &item, folder: folder, relativeFolder: relativeFolder, root: root, cutoff: nil,
                inspect: Self.inspect)
            events += result.events
            return result.deferredReason
        }
        if settings.livePhotos != .off, let stem = companions.candidateStem[name],
            let candidate = companions.livePhotoCandidates[stem],
            case .pair = settings.decideLivePhoto(
                still: folder + "/" + candidate.still, video: folder + "/" + candidate.video)
        {
            // Whichever half the list names first brings the other.
            let otherName = name == candidate.still ? candidate.video : candidate.still
            let otherPath = folder + "/" + otherName
            if case .item(var other) = ListSource.event(for: otherPath, relativeBase: "/", acceptsURLs: false) {
                other.origin = .file(
                    path: otherPath, root: root,
                    relativePath: relativeFolder.isEmpty ? otherName : relativeFolder + "/" + otherName)
                grouped.insert(otherPath)
                var (still, video) = name == candidate.still ? (item, other) : (other, item)
                if let reason = attach(&still, name: candidate.still) {
                    return events + [.deferred(path: relativePath, reason: reason)]
                }
                if settings.livePhotos == .stillOnly {
                    still.sidecars.append(
                        Sidecar(
                            kind: .livePhotoVideo, path: folder + "/" + candidate.video,
                            relativePath: video.origin.displayPath, size: video.size ?? 0))
                    return events + [.item(still)]
                }
                if let reason = attach(&video, name: candidate.video) {
                    return events + [.deferred(path: relativePath, reason: reason)]
                }
                still.group = AssetGroup(kind: .livePhoto, role: "still", pairedBy: "contentIdentifier")
                video.group = AssetGroup(kind: .livePhoto, role: "video", pairedBy: "contentIdentifier")
                return events + [.group([still, video])]
            }
        }
        if let reason = attach(&item, name: name) { return events + [.deferred(path: relativePath, reason: reason)] }
        return events + [.item(item)]
    }

    /// A sidecar beside a listed file: a regular file, not a link (a list names what it means to read; a file found
    /// beside it is taken only as it stands).
    static func inspect(_ path: String, _ relative: String) -> Inspected {
        guard let status = try? FileStatus.of(path, followLinks: false) else { return .skip }
        guard status.kind == .regular else {
            let entry = SourceItem(
                origin: .file(path: path, root: (path as NSString).deletingLastPathComponent, relativePath: relative),
                size: status.size, modificationDate: status.modificationDate)
            let what = status.kind == .symbolicLink ? "a symbolic link" : status.kindDescription
            return .rejected(
                .rejected(
                    entry,
                    Rejection(.notRegularFile, "sidecar is \(what): only regular files beside a listed file are read")
                ))
        }
        return .regular(status)
    }

    private mutating func companions(of folder: String) -> FolderCompanions {
        if let known = folders[folder] { return known }
        let names = (try? FileSystem.names(in: folder)) ?? []
        let found = FolderCompanions(names: names, livePhotos: settings.livePhotos)
        folders[folder] = found
        order.append(folder)
        if order.count > 64 { folders.removeValue(forKey: order.removeFirst()) }
        return found
    }
}
