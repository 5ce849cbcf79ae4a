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
        try writer.open(path)
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
            context.logger.error("cannot write the manifest line for \(result.asset.displayPath): \(error)")
        }
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        try writer.close()
    }
}

/// Owns the manifest's file descriptor. Lines are written with one `write(2)` each under a lock.
final class ManifestWriter: Sendable {
    private struct State {
        var descriptor: Int32 = -1
        var path: String?
    }

    private let state = Mutex(State())

    var path: String? { state.withLock { $0.path } }

    func open(_ path: String) throws {
        let descriptor = try systemCall("open", path: path) {
            Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        }
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = descriptor
            state.path = path
        }
    }

    func append(_ line: String) throws {
        try state.withLock { state in
            guard state.descriptor >= 0, let path = state.path else { return }
            var bytes = Array(line.utf8)  // one write(2) per line keeps O_APPEND lines whole
            var written = 0
            while written < bytes.count {
                let count = try bytes.withUnsafeMutableBytes { raw in
                    try systemCall("write", path: path) {
                        Glibc.write(state.descriptor, raw.baseAddress! + written, raw.count - written)
                    }
                }
                written += count
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
