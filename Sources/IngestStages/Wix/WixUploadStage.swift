import Crypto
import Foundation
import Logging
import MediaIngest
import WixMedia

/// `upload.wix`: uploads each asset to the Wix Media Manager.
///
/// Files up to `resumableAbove` go through generate-upload-url and one streamed PUT; larger files through a
/// resumable (tus) upload in chunks that resumes after a broken connection; URL sources through Import File. The
/// asset leaves with a ``TargetRecord`` (`wix`, file id, url, operationStatus) and `facts["wix"]` (protocol, MD5 and
/// size sent, attempts); `wix.await-ready` then waits for READY and verifies them.
public struct WixUploadStage: Stage, StageDefinition {
    public static let kind = "upload.wix"
    public static let phase = StagePhase.upload
    public static let summary = "Upload to the Wix Media Manager: streamed PUT, resumable tus above a size, Import File for URLs; retries with backoff."

    static let parentFolderID = StageOption<String?>("parentFolderId", doc: "The Media Manager folder id to upload into (default media-root).")
    static let filePath = StageOption<String?>(
        "filePath",
        doc: "A folder path below parentFolderId, created as needed, with placeholders {yyyy} {mm} {dd} (the file's date), {family} (image, video…), {ext}, {pipeline}; e.g. \"/uploads/{yyyy}/{mm}\".")
    static let labels = StageOption<[String]>("labels", default: [], doc: "Labels put on every uploaded file (at most 50).")
    static let isPrivate = StageOption<Bool>("private", default: false, doc: "Upload as private files (cannot be changed later).")
    static let externalOrigin = StageOption<String>(
        "externalOrigin", default: "media-ingest", doc: "externalInfo.origin; externalIds holds the content SHA-256, so File Ready events can be tied back.")
    static let resumableAbove = StageOption<ByteSize>("resumableAbove", default: .megabytes(10), doc: "Files larger than this use the resumable (tus) upload, as Wix advises.")
    static let chunkSize = StageOption<ByteSize>("chunkSize", default: .mebibytes(8), doc: "tus PATCH size; a broken connection costs at most one chunk.")
    static let concurrency = StageOption<Int?>("concurrency", doc: "Uploads in flight at once for this stage (default: the pipeline's concurrency).")
    static let verify = StageOption<Bool>("verify", default: true, doc: "Check the sizeInBytes (and MD5 hash) Wix reports against the bytes sent.")

    public static let options = WixConnectionOptions.specs + [
        parentFolderID.spec, filePath.spec, labels.spec, isPrivate.spec, externalOrigin.spec, resumableAbove.spec, chunkSize.spec, concurrency.spec,
        verify.spec,
    ]

    let connection: WixConnectionOptions
    let parentFolder: String?
    let pathTemplate: PathTemplate?
    let labelList: [String]
    let privateFiles: Bool
    let origin: String
    let resumableThreshold: Int64
    let chunkBytes: Int64
    let verifyUploads: Bool
    let gate: AsyncSemaphore
    let width: Int
    let client = WixClientHolder()

    public init(options: OptionValues, context: StageBuildContext) throws {
        connection = try WixConnectionOptions(options: options)
        parentFolder = try options[Self.parentFolderID]
        labelList = try options[Self.labels]
        privateFiles = try options[Self.isPrivate]
        origin = try options[Self.externalOrigin]
        resumableThreshold = (try options[Self.resumableAbove]).bytes
        chunkBytes = (try options[Self.chunkSize]).bytes
        verifyUploads = try options[Self.verify]
        width = try options[Self.concurrency] ?? context.concurrency
        if let template = try options[Self.filePath] {
            do {
                pathTemplate = try PathTemplate(template)
            } catch {
                throw options.error(Self.filePath, error.message)
            }
        } else {
            pathTemplate = nil
        }
        if let parentFolder, parentFolder.isEmpty || parentFolder.count > 100 { throw options.error(Self.parentFolderID, "expected 1 to 100 characters") }
        if labelList.count > 50 { throw options.error(Self.labels, "Wix allows at most 50 labels, got \(labelList.count)") }
        if let long = labelList.first(where: { $0.count > 200 }) { throw options.error(Self.labels, "labels are at most 200 characters: \"\(long.prefix(40))…\"") }
        if chunkBytes < 256 * 1024 { throw options.error(Self.chunkSize, "expected at least 256KiB") }
        if !(1...64).contains(width) { throw options.error(Self.concurrency, "expected 1 to 64, got \(width)") }
        gate = AsyncSemaphore(limit: width)
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        client.open(connection, connections: width, logger: context.logger)
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws { await client.close() }

    public var reportInfo: [String: JSONValue] { ["wix": ["baseURL": .string(connection.baseURL), "siteId": .string(connection.siteID)]] }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        let client = try client.get()
        return try await gate.withPermit {
            do {
                return try await upload(asset, client: client, context: context)
            } catch let error as WixClientError {
                return try error.stageOutcome(for: asset, action: "upload \(asset.displayPath)")
            }
        }
    }

    func upload(_ asset: Asset, client: WixMediaClient, context: StageContext) async throws -> StageOutcome {
        var asset = asset
        let mime = asset.mime?.mime ?? MediaTypeTable.standard.entry(forExtension: asset.sourceExtension)?.mime ?? "application/octet-stream"
        let fileName = UploadOptions.sanitizedFileName(asset.fileName)
        // A routing stage's placement replaces the configured folder options (parentFolderId and filePath) for this asset.
        var folderPath = asset.placement == nil ? pathTemplate?.render(asset, pipeline: context.pipeline.pipelineName) : nil
        if let routedPath = asset.placement?.path {
            do {
                folderPath = try PathTemplate(routedPath).render(asset, pipeline: context.pipeline.pipelineName)
            } catch {
                return .reject(asset, Rejection(.targetRejected, "upload.wix: the placement path \"\(routedPath)\" is not a valid filePath: \(error.message)"))
            }
        }
        var options = UploadOptions(
            mimeType: mime, fileName: fileName, parentFolderId: asset.placement.map(\.folderID) ?? parentFolder, filePath: folderPath,
            labels: labelList, isPrivate: privateFiles)

        if let url = asset.origin.url, asset.contentPath == nil {
            options.externalInfo = ExternalInfo(origin: origin, externalIds: [Self.urlIdentity(url)])
            let descriptor = try await client.importFile(url: url, options: options)
            record(descriptor, protocol: "import", md5: nil, size: nil, on: &asset)
            context.logger.info("import requested", metadata: ["file": "\(asset.displayPath)", "wixId": "\(descriptor.id)"])
            return .next(asset)
        }
        guard let path = asset.contentPath else {
            return .reject(asset, Rejection(.targetRejected, "upload.wix: \(asset.displayPath) has no content to upload"))
        }
        // Size and SHA-256 (the external id) before the upload: from the stage that wrote the file when it hashed it
        // (strip does), else from one pass over the file. The MD5 is then taken while the PUT streams.
        var digest: FileDigest
        if let known = asset.contentDigest, known.path == path, let status = try? FileStatus.of(path), status.size == known.size {
            digest = FileDigest(size: known.size, md5: nil, sha256: known.sha256)
        } else {
            // MD5 now only where it is needed before sending: a recovery compares it, tus does not stream-hash.
            digest = try FileDigest.of(path, md5: asset.recovery != nil || (try? FileStatus.of(path).size > resumableThreshold) ?? true)
        }
        options.sizeInBytes = digest.size
        options.externalInfo = ExternalInfo(origin: origin, externalIds: [digest.sha256])
        if path == asset.origin.path { asset.sourceSHA256 = digest.sha256 }

        // A crash or failure after an earlier upload: find that upload instead of sending the file again.
        if asset.recovery != nil, digest.md5 == nil { digest = try FileDigest.of(path, md5: true) }
        if let recovered = try await recoverEarlierUpload(asset, digest: digest, options: options, client: client, context: context) {
            record(recovered, protocol: "recovered", md5: digest.md5, size: digest.size, on: &asset)
            try await context.checkpoint(asset)
            context.logger.info("found the earlier upload; not uploading again", metadata: ["file": "\(asset.displayPath)", "wixId": "\(recovered.id)"])
            return .next(asset)
        }

        let descriptor: FileDescriptor
        let method: String
        if digest.size > resumableThreshold {
            method = "tus"
            if digest.md5 == nil { digest = try FileDigest.of(path, md5: true) }
            let (uploadURL, token) = try await client.generateResumableUploadURL(options)
            context.logger.debug("resumable upload", metadata: ["file": "\(asset.displayPath)", "url": "\(WixMediaClient.redact(uploadURL))"])
            descriptor = try await client.tusUpload(
                file: path, size: digest.size, uploadURL: uploadURL, token: token, mimeType: mime, fileName: fileName, chunkSize: chunkBytes)
        } else {
            method = "put"
            let sent = try await putWithRetries(path: path, size: digest.size, options: options, client: client, context: context, asset: asset)
            descriptor = sent.descriptor
            digest.md5 = sent.md5
        }
        if verifyUploads, let problem = Self.verificationProblem(descriptor, size: digest.size, md5: digest.md5) {
            throw WixClientError.verificationFailed("\(asset.displayPath) → \(descriptor.id): \(problem)")
        }
        record(descriptor, protocol: method, md5: digest.md5, size: digest.size, on: &asset)
        // The file id goes to the ledger now: a crash from here on must not upload the file a second time.
        try await context.checkpoint(asset)
        context.logger.info("uploaded", metadata: ["file": "\(asset.displayPath)", "wixId": "\(descriptor.id)", "status": "\(descriptor.operationStatus)", "via": "\(method)"])
        return .next(asset)
    }

    /// The file an earlier attempt uploaded, if Wix still has it with the same bytes: by the file id the ledger kept
    /// (checkpointed right after the upload), or — when the earlier attempt died between the upload and that
    /// checkpoint, and files go straight into `parentFolderId` — by MD5 and size among the folder's newest files.
    func recoverEarlierUpload(_ asset: Asset, digest: FileDigest, options: UploadOptions, client: WixMediaClient, context: StageContext) async throws -> FileDescriptor? {
        guard let recovery = asset.recovery else { return nil }
        func matches(_ file: FileDescriptor) -> Bool {
            !file.isFailed && file.sizeInBytes == digest.size && (file.hash.isEmpty || file.hash.lowercased() == digest.md5)
        }
        if let previous = recovery.previousTargetID {
            do {
                let file = try await client.file(id: previous)
                if matches(file) { return file }
                context.logger.info("earlier upload differs or failed; uploading again", metadata: ["file": "\(asset.displayPath)", "wixId": "\(previous)"])
            } catch let error as WixClientError {
                if case .http(404, _, _, _) = error { return nil }
                throw error
            }
            return nil
        }
        guard recovery.wasInFlight, options.filePath == nil else { return nil }
        var cursor: String?
        for _ in 0..<3 {
            let page = try await client.listFiles(parentFolderId: options.parentFolderId ?? "media-root", limit: 100, cursor: cursor)
            if let file = page.files.first(where: { matches($0) && $0.displayName == options.fileName }) { return file }
            guard let next = page.next else { break }
            cursor = next
        }
        return nil
    }

    /// generate-upload-url + PUT. A retryable failure re-PUTs to the same URL (so a PUT whose answer was lost does
    /// not become a second file); an expired URL gets a fresh one.
    func putWithRetries(
        path: String, size: Int64, options: UploadOptions, client: WixMediaClient, context: StageContext, asset: Asset
    ) async throws -> (descriptor: FileDescriptor, md5: String) {
        var uploadURL = try await client.generateUploadURL(options)
        var expiredRetries = 0
        while true {
            do {
                let target = uploadURL
                return try await client.withRetries(describe: "PUT \(WixMediaClient.redact(target))") {
                    try await client.putHashing(file: path, size: size, to: target, mimeType: options.mimeType, fileName: options.fileName)
                }
            } catch let error as WixClientError where error.isExpiredUploadURL && expiredRetries < 2 {
                expiredRetries += 1
                context.logger.info("upload URL expired; generating a new one", metadata: ["file": "\(asset.displayPath)"])
                uploadURL = try await client.generateUploadURL(options)
            }
        }
    }

    func record(_ descriptor: FileDescriptor, protocol method: String, md5: String?, size: Int64?, on asset: inout Asset) {
        asset.target = TargetRecord(
            target: "wix", id: descriptor.id, url: descriptor.url, status: descriptor.operationStatus, confirmed: descriptor.isReady, descriptor: descriptor.raw)
        var facts: [String: JSONValue] = ["fileId": .string(descriptor.id), "protocol": .string(method), "operationStatus": .string(descriptor.operationStatus)]
        if let md5 { facts["md5"] = .string(md5) }
        if let size { facts["sentBytes"] = .int(size) }
        asset.facts["wix"] = .object(facts)
        if let width = descriptor.width, let height = descriptor.height, asset.dimensions == nil { asset.dimensions = PixelSize(width: width, height: height) }
    }

    /// `nil` when the descriptor matches what was sent; else what differs. The hash is compared only when it is
    /// 32 hex characters (Wix does not document its algorithm; every sample is MD5-length).
    static func verificationProblem(_ descriptor: FileDescriptor, size: Int64, md5: String?) -> String? {
        if let reported = descriptor.sizeInBytes, reported != size, descriptor.operationStatus != "PENDING" || reported != 0 {
            return "Wix reports \(reported) bytes, \(size) were sent"
        }
        if let md5, descriptor.hash.count == 32, descriptor.hash.allSatisfy(\.isHexDigit), descriptor.hash.lowercased() != md5 {
            return "Wix reports hash \(descriptor.hash), the bytes sent have MD5 \(md5)"
        }
        return nil
    }

    static func urlIdentity(_ url: String) -> String { Digest.hex(SHA256.hash(data: Data(url.utf8))) }
}

/// Size, MD5 (what Wix's `hash` is compared with) and SHA-256 (the external id) of a file, in one streamed pass.
struct FileDigest {
    var size: Int64
    /// `nil` until known (taken while the PUT streams when the SHA-256 came from the stage that wrote the file).
    var md5: String?
    var sha256: String

    /// One pass over the file. Without `md5`, only size and SHA-256: a PUT takes the MD5 while it streams.
    static func of(_ path: String, md5 includeMD5: Bool) throws -> FileDigest {
        var md5 = Insecure.MD5()
        var sha = SHA256()
        var size: Int64 = 0
        try FileSystem.forEachBlock(of: path) { block in
            if includeMD5 { md5.update(bufferPointer: block) }
            sha.update(bufferPointer: block)
            size += Int64(block.count)
        }
        return FileDigest(size: size, md5: includeMD5 ? Digest.hex(md5.finalize()) : nil, sha256: Digest.hex(sha.finalize()))
    }
}

/// A Wix `filePath` template: `/uploads/{yyyy}/{mm}`. Unknown placeholders are configuration errors.
///
/// `upload.wix` renders its `filePath` option and per-asset ``Placement/path`` values with it; routing stages parse
/// their paths with it when they are built, so a typo is a configuration error rather than a rejected asset.
public struct PathTemplate: Sendable, Hashable {
    /// Why a template does not parse.
    public typealias Problem = PlaceholderTemplate.Problem

    /// The placeholder names a template may use.
    public static let placeholders = ["yyyy", "mm", "dd", "family", "ext", "pipeline"]
    let template: PlaceholderTemplate

    /// Parses a template.
    /// - Throws: ``Problem`` for an unknown placeholder, an unclosed brace or more than 100 characters.
    public init(_ text: String) throws(Problem) {
        template = try PlaceholderTemplate(text, placeholders: Self.placeholders)
        if text.count > 100 { throw Problem(message: "Wix allows at most 100 characters in filePath") }
    }

    /// The folder path for an asset: dates from its modification time (UTC), `{family}` from its detected type.
    public func render(_ asset: Asset, pipeline: String) -> String {
        let date = asset.modificationDate ?? Date()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let components = calendar.dateComponents([.year, .month, .day], from: date)
        return template.render { name in
            switch name {
            case "yyyy": return String(format: "%04d", components.year ?? 1970)
            case "mm": return String(format: "%02d", components.month ?? 1)
            case "dd": return String(format: "%02d", components.day ?? 1)
            case "family": return asset.mime?.family.rawValue ?? "other"
            case "ext": return asset.sourceExtension.isEmpty ? "none" : asset.sourceExtension
            case "pipeline": return pipeline
            default: return ""
            }
        }
    }
}
