import Foundation
import IngestStages
import Logging
import MediaIngest
import Synchronization

/// `upload.remote`: a stripped, validated copy into any rclone remote (S3, B2, Drive, an SFTP server…), beside or
/// instead of Wix. rclone copies the work file (`operations/copyfile`, with its own retries and pacing); the copy is
/// then checked — its size, and the MD5 or SHA-1 the backend gives — before the asset counts as stored, so a source
/// is archived only after *those bytes* are proven there.
///
/// Files are laid out by a path template (`{yyyy}/{mm}/{name}`, default) — a taken name gets ` (1)`, never
/// overwritten; the same bytes already at that name are not copied again — or content-addressed (`{sha256}`).
public struct RemoteUploadStage: Stage, StageDefinition {
    public static let kind = "upload.remote"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .failure(
            "remote_verify_failed",
            "the copy at the remote is not the bytes sent (another size or hash): it is removed and the next run sends it again"
        )
    ]
    public static let phase = StagePhase.upload
    public static let summary =
        "Copy files into an rclone remote (S3, B2, Drive, SFTP…), laid out by a path template, verified after the copy."

    static let remote = StageOption<String>(
        "remote", doc: "Where to store: `NAME:path` of your rclone config (`s3:bucket/media`), or an absolute path.")
    static let config = StageOption<PathOption?>(
        "config", doc: "The rclone config file (default: rclone's own, as for source.remote).")
    static let layout = StageOption<String>(
        "layout", default: "{yyyy}/{mm}/{name}",
        doc:
            "The path below `remote` (placeholders yyyy, mm, dd, family, ext, pipeline, name, stem, sha256); `{sha256}.{ext}` for content addressing."
    )
    public static let options = [remote.spec, config.spec, layout.spec]

    let root: String
    let configPath: String?
    let layoutTemplate: LayoutTemplate
    /// Names handed out in this run and not yet written: two workers never pick the same free name.
    let reserved = Reservations()

    public init(options: OptionValues, context: StageBuildContext) throws {
        let written = try options[Self.remote].trimmingCharacters(in: .whitespaces)
        guard let root = RemoteName.root(written) else {
            throw options.error(Self.remote, "\"\(written)\" is neither NAME:path nor an absolute path")
        }
        self.root = root
        configPath = try options[Self.config]?.path
        do {
            layoutTemplate = try LayoutTemplate(try options[Self.layout])
        } catch let problem as PlaceholderTemplate.Problem {
            throw options.error(Self.layout, problem.message)
        }
    }

    func client(_ context: PipelineContext) throws -> RcloneClient {
        try RcloneDaemon.shared(in: context, configPath: configPath, logger: context.logger).client
    }

    public func prepare(_ context: PipelineContext) async throws { _ = try client(context) }

    public var reportInfo: [String: JSONValue] { ["remote": .string(RemoteName.prefix(of: root) ?? "path")] }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let content = asset.contentPath else {
            return .reject(
                asset, Rejection(.targetRejected, "upload.remote copies files; \(asset.displayPath) is a URL"))
        }
        let rc = try client(context.pipeline)
        let hashes = try FileHashing.sha256AndMD5(ofFileAt: content)
        let digest = (size: try FileStatus.of(content).size, sha256: hashes.sha256, md5: hashes.md5)
        let wanted = layoutTemplate.render(asset, sha256: digest.sha256, pipeline: context.pipeline.pipelineName)
        let (name, existing) = try await freeName(wanted, size: digest.size, md5: digest.md5, client: rc)
        defer { reserved.release(name) }
        var asset = asset
        if !existing {
            let folder = (content as NSString).deletingLastPathComponent
            _ = try await rc.call(
                "operations/copyfile",
                [
                    "srcFs": .string(folder), "srcRemote": .string((content as NSString).lastPathComponent),
                    "dstFs": .string(root), "dstRemote": .string(name),
                ])
        }
        let verifiedBy = try await verify(name, size: digest.size, md5: digest.md5, client: rc)
        let location = RemoteListing.join(root, name)
        if content == asset.origin.path { asset.sourceSHA256 = digest.sha256 }
        asset.target = TargetRecord(
            target: "remote", id: location, url: location, status: "READY", confirmed: true,
            sentBytes: digest.size, sentMD5: digest.md5, sentSHA256: digest.sha256,
            method: existing ? "found" : "copy")
        asset.values[RemoteUploadReport.self] = .init(
            location: location, verifiedBy: verifiedBy, alreadyThere: existing ? true : nil)
        context.logger.debug("stored", metadata: ["remote": "\(location)", "verifiedBy": "\(verifiedBy)"])
        return .next(asset)
    }
}

/// What the manifest shows under `upload.remote`.
public struct RemoteUploadReport: AssetValueKey {
    public struct Value: Codable, Sendable, Hashable {
        /// `remote:path/file`.
        public var location: String
        /// `md5`, `sha1` or `size`: what proved the copy.
        public var verifiedBy: String
        /// `true` when the same bytes were at that name already (nothing copied).
        public var alreadyThere: Bool?
    }

    public static let name = "upload.remote"
}

/// Names reserved by workers of this run.
final class Reservations: Sendable {
    private let names = Mutex<Set<String>>([])

    /// Reserves `name`; `false` when another worker holds it.
    func reserve(_ name: String) -> Bool { names.withLock { $0.insert(name).inserted } }
    func release(_ name: String) { _ = names.withLock { $0.remove(name) } }
}
