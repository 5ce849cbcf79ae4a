import Foundation
import Glibc
import MediaIngest
import Synchronization

/// `source.list`: paths or URLs, one per line, from a file or standard input.
///
/// Blank lines and lines starting with `#` are ignored. `http://` and `https://` lines become URL assets (imported
/// by URL where the upload stage supports it); other lines are local paths, relative to the list file's folder
/// (or to the project folder for standard input).
public struct ListSource: AssetSource, StageDefinition {
    public static let kind = "source.list"
    public static let phase = StagePhase.source
    public static let summary = "Paths or URLs, one per line, from a file or standard input (\"-\")."

    static let file = StageOption<String>("file", doc: "The list file, or \"-\" for standard input.")
    static let allowURLs = StageOption<Bool>(
        "allowURLs", default: true, doc: "Accept http(s) URLs (imported by URL); when false they are rejected.")
    public static let options = [file.spec, allowURLs.spec]

    let listPath: String?
    let relativeBase: String
    let acceptsURLs: Bool

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
                while getline(&buffer, &capacity, stream) >= 0, let buffer {
                    if context.control.isStopRequested || stopped.withLock({ $0 }) { break }
                    let line = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
                    if line.isEmpty || line.hasPrefix("#") { continue }
                    continuation.yield(event(for: line))
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
        } catch let error as FileError {
            return .rejected(item, Rejection(.unreadable, error.reason))
        } catch {
            return .rejected(item, Rejection(.unreadable, "\(error)"))
        }
    }
}
