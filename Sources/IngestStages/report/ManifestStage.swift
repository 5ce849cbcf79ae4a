import Foundation
import Glibc
import Logging
import MediaIngest
import Synchronization

/// `report.manifest`: appends one JSON line per asset — done, rejected, failed or planned — to a manifest file.
///
/// An observer: the line is written when the asset leaves the pipeline, wherever the entry stands in the list (a
/// rejected asset never reaches later stages, but still gets its line), and `when` does not apply. Each line is one `write(2)` on a file opened with
/// `O_APPEND`, so lines from concurrent workers (or two processes) never interleave.
///
/// ```json
/// {"time":"2026-11-24T10:15:02.114Z","run":"20261124T101500Z-3f9c","pipeline":"photos","id":7,
///  "source":"/data/inbox/IMG_0007.jpg","path":"IMG_0007.jpg","sha256":"…","size":2291734,"mime":"image/jpeg",
///  "status":"done","target":{"id":"…","url":"…","status":"READY",…},"facts":{"strip":{…}}}
/// ```
public struct ManifestStage: AssetObserver, StageDefinition {
    public static let kind = "report.manifest"
    public static let sourceFile: String? = #filePath
    public static let phase = StagePhase.report
    public static let summary =
        "Append one JSON line per asset (source, sha256, size, MIME, outcome, reason, target id/url) to a manifest."

    static let path = StageOption<String>(
        "path", default: "manifests/{pipeline}.jsonl",
        doc: "The manifest file; {pipeline}, {date} (UTC yyyy-mm-dd) and {run} are replaced.")
    static let includeFacts = StageOption<Bool>(
        "includeFacts", default: true, doc: "Include the facts stages recorded (what was stripped, dimensions…).")
    static let hashSources = StageOption<Bool>(
        "hashSources", default: true, doc: "Compute the source's SHA-256 when no stage did (reads the file once more).")
    public static let options = [path.spec, includeFacts.spec, hashSources.spec]

    let pathTemplate: String
    let baseDirectory: String
    let includesFacts: Bool
    let hashesSources: Bool
    private let writer = ManifestWriter()

    public init(options: OptionValues, context: StageBuildContext) throws {
        pathTemplate = try options[Self.path]
        guard !pathTemplate.isEmpty else { throw options.error(Self.path, "expected a file path") }
        baseDirectory = context.baseDirectory
        includesFacts = try options[Self.includeFacts]
        hashesSources = try options[Self.hashSources]
    }

    /// Creates the stage programmatically.
    public init(path: String, includeFacts: Bool = true) {
        pathTemplate = path
        baseDirectory = FileManager.default.currentDirectoryPath
        includesFacts = includeFacts
        hashesSources = true
    }

    /// The manifest path for a run.
    public func resolvedPath(context: PipelineContext) -> String {
        let date = String(ISO8601.string(from: context.startDate).prefix(10))
        let text =
            pathTemplate
            .replacingOccurrences(of: "{pipeline}", with: context.pipelineName)
            .replacingOccurrences(of: "{date}", with: date)
            .replacingOccurrences(of: "{run}", with: context.runID)
        return PathResolution.resolve(text, against: context.baseDirectory)
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        let path = resolvedPath(context: context)
        try FileSystem.createDirectory((path as NSString).deletingLastPathComponent)
        let cut = try writer.open(path)
        if cut > 0 {
            context.logger.warning(
                "the manifest ended in half a line (an earlier write failed); cut it back to its last whole line",
                metadata: ["manifest": "\(path.displaySafe)", "bytes": "\(cut)"])
        }
    }

    public var reportInfo: [String: JSONValue] {
        writer.path.map { ["manifest": .string($0)] } ?? [:]
    }

    public func assetDidFinish(_ result: AssetResult, context: PipelineContext) async {
        guard !context.isDryRun else { return }
        var result = result
        if hashesSources, result.asset.sourceSHA256 == nil {
            _ = try? result.asset.ensureSourceSHA256()
        }
        var record = result.record
        if !includesFacts { record.facts = nil }
        do {
            var object = try JSONValue(encoding: record).objectValue ?? [:]
            object["time"] = .string(ISO8601.string(from: Date()))
            object["run"] = .string(context.runID)
            object["pipeline"] = .string(context.pipelineName)
            if object["target"]?["descriptor"] != nil, var target = object["target"]?.objectValue {
                target.removeValue(forKey: "descriptor")
                object["target"] = .object(target)
            }
            try writer.append(JSONValue.object(object).jsonText() + "\n")
        } catch {
            // Counted: the run's exit code says a line is missing (the file still ends on a whole line).
            let reason = FileSystem.describe(error)
            context.problems.report(RunProblem(.linesLost, path: writer.path ?? pathTemplate, reason: reason))
            context.logger.error(
                "cannot write the manifest line",
                metadata: ["asset": "\(result.asset.displayPath)", "reason": "\(reason)"])
        }
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        try writer.close()
    }
}

/// Owns the manifest's file descriptor. Lines are written with one `write(2)` each under a lock (and `flock`, for
/// other processes appending to the same file).
///
/// A manifest always ends on a whole line: a write that fails part-way (a full disk, a file size limit) is cut back
/// (`ftruncate`) to where the line began, and a file that a crash left ending in half a line is cut back to its last
/// whole line when opened, so the next line never lands on a torn one and every line parses.
final class ManifestWriter: Sendable {
    private struct State {
        var descriptor: Int32 = -1
        var path: String?
    }

    private let state = Mutex(State())

    var path: String? { state.withLock { $0.path } }

    /// Opens (creating) the manifest for appending.
    /// - Returns: how many bytes of a torn last line were cut off (0 almost always).
    @discardableResult
    func open(_ path: String) throws -> Int64 {
        let descriptor = try systemCall("open", path: path) {
            path.withPlatformPath { Glibc.open($0, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
        }
        let cut: Int64
        do {
            _ = flock(descriptor, LOCK_EX)
            defer { _ = flock(descriptor, LOCK_UN) }
            cut = try Self.cutTornTail(descriptor, path: path)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = descriptor
            state.path = path
        }
        return cut
    }

    /// Cuts the file back to the end of its last whole line.
    private static func cutTornTail(_ descriptor: Int32, path: String) throws -> Int64 {
        let size = Int64(try systemCall("seek", path: path) { lseek(descriptor, 0, SEEK_END) })
        guard size > 0 else { return 0 }
        var end = size
        var buffer = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - Int64(buffer.count))
            let count = Int(end - start)
            let got = try buffer.withUnsafeMutableBytes { raw in
                try systemCall("read", path: path) { pread(descriptor, raw.baseAddress!, count, off_t(start)) }
            }
            guard got == count else { throw FileError(path: path, operation: "read", code: EIO) }
            if let last = buffer[..<count].lastIndex(of: UInt8(ascii: "\n")) {
                let whole = start + Int64(last) + 1
                if whole == size { return 0 }
                try systemCall("truncate", path: path) { ftruncate(descriptor, off_t(whole)) }
                return size - whole
            }
            end = start
        }
        try systemCall("truncate", path: path) { ftruncate(descriptor, 0) }
        return size
    }

    /// Appends one line, whole or not at all.
    /// - Throws: ``FileError`` when it cannot be written (the file is left as it was).
    func append(_ line: String) throws {
        try state.withLock { state in
            guard state.descriptor >= 0, let path = state.path else { return }
            let descriptor = state.descriptor
            _ = flock(descriptor, LOCK_EX)
            defer { _ = flock(descriptor, LOCK_UN) }
            // Where this line begins: the end of the file (under the lock, no other writer moves it).
            let before = try systemCall("seek", path: path) { lseek(descriptor, 0, SEEK_END) }
            var bytes = Array(line.utf8)  // one write(2) per line keeps O_APPEND lines whole
            var written = 0
            do {
                while written < bytes.count {
                    let count = try bytes.withUnsafeMutableBytes { raw in
                        try systemCall("write", path: path) {
                            Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                        }
                    }
                    written += count
                }
            } catch {
                // Half a line would join the next one and never parse again: take it back.
                if written > 0 { _ = ftruncate(descriptor, before) }
                throw error
            }
        }
    }

    func close() throws {
        try state.withLock { state in
            guard state.descriptor >= 0, let path = state.path else { return }
            let descriptor = state.descriptor
            state.descriptor = -1
            defer { Glibc.close(descriptor) }
            try systemCall("fsync", path: path) { fsync(descriptor) }
        }
    }

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
        }
    }
}
