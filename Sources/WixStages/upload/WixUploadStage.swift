import Crypto
import Foundation
import IngestStages
import Logging
import MediaFormats
import MediaIngest
import WixMedia

/// `upload.wix`: uploads each asset to the Wix Media Manager.
///
/// Files up to `resumableAbove` go through generate-upload-url and one streamed PUT; larger files through a
/// resumable (tus) upload in chunks that resumes after a broken connection; URL sources through Import File. Every
/// attempt uses a fresh upload URL, and after an attempt that failed or lost its answer, Wix is asked whether the
/// file arrived anyway — so no reading of what Wix leaves undocumented (single-use URLs, the meaning of `hash`) can
/// make a duplicate. The upload is checkpointed before its first byte, so a crash, a kill or an interrupted run is
/// recovered the same way. The asset leaves with a ``TargetRecord`` (file id, url, status, what was sent);
/// `wix.await-ready` then waits for READY.
public struct WixUploadStage: Stage, StageDefinition {
    public static let kind = "upload.wix"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .targetRejected,
        DocumentedCode("http_NNN", .failure, "Wix kept answering an error status after the retries of one request"),
        .failure("connection", "the connection to Wix kept failing after the retries of one request"),
        .failure("bad_response", "Wix's answer could not be understood"),
        .failure("verify_mismatch", "Wix reports another size (or, with `verify: \"md5\"`, hash) than what was sent"),
        .failure(
            "retry_budget", note: "the run stops: exit 5",
            "the run's retry budget is spent, with what it was spent on"),
        DocumentedCode(
            "http_401", .failure, note: "the run stops: exit 5",
            "Wix refused the credentials (401, or 403 from the API: a missing permission or a siteId the key is not for)"
        ),
    ]
    public static let phase = StagePhase.upload
    public static let summary =
        "Upload to the Wix Media Manager: streamed PUT, resumable tus above a size, Import File for URLs; retries with fresh URLs, paced, never twice."

    static let parentFolderID = StageOption<String?>(
        "parentFolderId", doc: "The Media Manager folder id to upload into (default media-root).")
    static let filePath = StageOption<String?>(
        "filePath",
        doc:
            "A folder path below parentFolderId, created as needed, with placeholders {yyyy} {mm} {dd} (the file's date), {family} (image, video…), {ext}, {pipeline}; e.g. \"/uploads/{yyyy}/{mm}\". At most 100 characters once expanded."
    )
    static let labels = StageOption<[String]>(
        "labels", default: [], doc: "Labels put on every uploaded file (at most 50).")
    static let isPrivate = StageOption<Bool>(
        "private", default: false, doc: "Upload as private files (cannot be changed later).")
    static let externalOrigin = StageOption<String>(
        "externalOrigin", default: "media-ingest",
        doc:
            "externalInfo.origin on generate-upload-url and import; externalIds holds the content SHA-256, so File Ready events can be tied back."
    )
    static let resumableAbove = StageOption<ByteSize>(
        "resumableAbove", default: .megabytes(10),
        doc: "Files larger than this use the resumable (tus) upload, as Wix advises.")
    static let chunkSize = StageOption<ByteSize>(
        "chunkSize", default: .mebibytes(64),
        doc:
            "tus PATCH size, rounded down to a multiple of 256KiB (as resumable stores require: \"100MB\" sends 99.75MiB); a broken connection or an offset conflict resumes from the server's offset."
    )
    static let concurrency = StageOption<Int?>(
        "concurrency", doc: "Uploads in flight at once for this stage (default: the pipeline's concurrency).")
    static let verify = StageOption<VerifyMode>("verify", default: .size, doc: VerifyMode.documentation)
    static let folders = StageOption<FolderLayout>(
        "folders", default: .flat,
        doc:
            "\"mirror\": the file's folders below its source root become Media Manager folders (below filePath, or parentFolderId), created once through Create Folder and reused; \"flat\" (default): every file goes to the same folder."
    )
    static let dedupeScope = StageOption<DedupeScope>(
        "dedupeScope", default: .folder,
        doc:
            "With state.dedupe \"target\": look for the bytes in the folder the file goes to (\"folder\", default: one listing per folder and run) or anywhere in the Media Manager (\"site\": one search of every file per run)."
    )

    static let maxBytesPerSecond = StageOption<ByteSize?>(
        "maxBytesPerSecond", doc: BandwidthOption.documentation)

    public static let options =
        WixConnectionOptions.specs + [
            parentFolderID.spec, filePath.spec, folders.spec, labels.spec, isPrivate.spec, externalOrigin.spec,
            resumableAbove.spec, chunkSize.spec, concurrency.spec, verify.spec, dedupeScope.spec,
            maxBytesPerSecond.spec,
        ]

    let connection: WixConnectionOptions
    let parentFolder: String?
    let pathTemplate: PathTemplate?
    let labelList: [String]
    let privateFiles: Bool
    let origin: String
    let resumableThreshold: Int64
    let chunkBytes: Int64
    let verification: VerifyMode
    let folderLayout: FolderLayout
    let scope: DedupeScope
    let gate: AsyncSemaphore
    let width: Int
    let client = WixClientHolder()
    /// What the site holds (state.dedupe "target"), for this run.
    let index = Holder<WixTargetIndex>()
    /// One upload at a time per content: two files with the same bytes in one run make one upload.
    let sameContent = KeyedLock()
    let bandwidthLimit: Int64?
    let bandwidth = Holder<ByteRateLimiter>()
    /// The run's URL imports, gathered into Bulk Import File calls.
    let imports = Holder<WixImportBatcher>()

    public init(options: OptionValues, context: StageBuildContext) throws {
        connection = try WixConnectionOptions(options: options)
        parentFolder = try options[Self.parentFolderID]
        labelList = try options[Self.labels]
        privateFiles = try options[Self.isPrivate]
        origin = try options[Self.externalOrigin]
        resumableThreshold = (try options[Self.resumableAbove]).bytes
        let chunk = (try options[Self.chunkSize]).bytes
        chunkBytes = chunk - chunk % WixMediaClient.tusChunkUnit
        verification = try options[Self.verify]
        folderLayout = try options[Self.folders]
        scope = try options[Self.dedupeScope]
        bandwidthLimit = try BandwidthOption.limit(options, Self.maxBytesPerSecond)
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
        if let parentFolder, parentFolder.isEmpty || parentFolder.count > 100 {
            throw options.error(Self.parentFolderID, "expected 1 to 100 characters")
        }
        if labelList.count > 50 {
            throw options.error(Self.labels, "Wix allows at most 50 labels, got \(labelList.count)")
        }
        if let long = labelList.first(where: { $0.count > 200 }) {
            throw options.error(Self.labels, "labels are at most 200 characters: \"\(long.prefix(40))…\"")
        }
        if chunk < WixMediaClient.tusChunkUnit { throw options.error(Self.chunkSize, "expected at least 256KiB") }
        if !(1...64).contains(width) { throw options.error(Self.concurrency, "expected 1 to 64, got \(width)") }
        gate = AsyncSemaphore(limit: width)
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        try client.open(connection, context: context)
        imports.set(WixImportBatcher(client: try client.get()))
        if let bandwidthLimit {
            bandwidth.set(BandwidthOption.limiter(bandwidthLimit, target: connection.sharingKey, context: context))
        }
        if context.dedupe == .target {
            let client = try client.get()
            index.set(
                try context.resources.shared("wix-index|" + connection.sharingKey) {
                    WixTargetIndex(client: client, logger: context.logger)
                })
        }
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        client.release()
        index.set(nil)
        bandwidth.set(nil)
        imports.set(nil)
    }

    public var reportInfo: [String: JSONValue] {
        var info: [String: JSONValue] = ["wix": connection.reportInfo]
        // The connection's retries by kind (its budget is shared with wix.await-ready, which reports none).
        if let spent = try? client.get().budget.spentByKind, !spent.isEmpty {
            info["retries"] = .object(spent.mapValues { .int(Int64($0)) })
        }
        if let bandwidthLimit { info["maxBytesPerSecond"] = .int(bandwidthLimit) }
        return info
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        let client = try client.get()
        client.budget.countAsset()
        return try await gate.withPermit { try await upload(asset, client: client, context: context) }
    }

    func upload(_ asset: Asset, client: WixMediaClient, context: StageContext) async throws -> StageOutcome {
        let mime = asset.declaredMIME
        let fileName = UploadOptions.sanitizedFileName(asset.fileName)
        // A routing stage's placement replaces the configured folder options (parentFolderId and filePath) for this asset.
        var folderPath =
            asset.placement == nil ? pathTemplate?.render(asset, pipeline: context.pipeline.pipelineName) : nil
        if let routedPath = asset.placement?.path {
            do {
                folderPath = try PathTemplate(routedPath).render(asset, pipeline: context.pipeline.pipelineName)
            } catch {
                return .reject(
                    asset,
                    Rejection(
                        .targetRejected,
                        "upload.wix: the placement path \"\(routedPath)\" is not a valid filePath: \(error.message)"))
            }
        }
        if let folderPath, folderPath.count > 100, folderLayout == .flat {
            return .reject(
                asset,
                Rejection(
                    .targetRejected,
                    "upload.wix: the filePath \"\(folderPath)\" is \(folderPath.count) characters once expanded; Wix allows 100"
                ))
        }
        var options = UploadOptions(
            mimeType: mime, fileName: fileName, parentFolderId: asset.placement?.folderID ?? parentFolder,
            filePath: folderPath,
            labels: labelList, isPrivate: privateFiles)

        if let url = asset.origin.url, asset.contentPath == nil {
            options.externalInfo = ExternalInfo(origin: origin, externalIds: [Self.urlIdentity(url)])
            return .next(try await importURL(url, asset: asset, options: options, client: client, context: context))
        }
        guard let path = asset.contentPath else {
            return .reject(
                asset, Rejection(.targetRejected, "upload.wix: \(asset.displayPath) has no content to upload"))
        }
        if folderLayout == .mirror {
            switch try await mirrorFolder(for: asset, below: folderPath, in: &options, client: client) {
            case .next: break
            case .reject(let rejected, let rejection): return .reject(rejected, rejection)
            }
        }
        let size = try FileStatus.of(path).size
        options.sizeInBytes = size
        // An asset an earlier attempt may have uploaded is recovered (found by its id or its pending upload) before it
        // is looked for as a duplicate: it is this asset's own upload, not someone else's copy.
        let mayHaveUploaded =
            asset.recovery?.previousTargetID != nil || asset.recovery?.values[WixPendingUpload.self] != nil
        if context.pipeline.dedupe == .target, !mayHaveUploaded, let index = index.get() {
            // Under the content's lock: a second file with the same bytes waits for the first's upload, then finds it.
            let digest = try FileHashing.sha256AndMD5(ofFileAt: path)
            return try await sameContent.withLock(digest.sha256) {
                if let found = try await duplicate(
                    of: asset, digest: digest, size: size, options: options, index: index, client: client,
                    context: context)
                {
                    return .next(found)
                }
                let outcome = try await send(
                    asset, path: path, size: size, knownSHA256: digest.sha256, options: options,
                    folderPath: options.filePath, client: client, context: context)
                if case .next(let uploaded) = outcome, let target = uploaded.target,
                    let descriptor = target.descriptor.flatMap({ try? FileDescriptor(json: $0) })
                {
                    await index.add(
                        descriptor, sha256: digest.sha256,
                        destination: WixTargetIndex.destination(options, site: scope == .site))
                }
                return outcome
            }
        }
        return try await send(
            asset, path: path, size: size, knownSHA256: nil, options: options, folderPath: options.filePath,
            client: client, context: context)
    }

    /// Sends the bytes at `path` (an earlier attempt's upload is reused when Wix has it) and checkpoints the file id.
    func send(
        _ asset: Asset, path: String, size: Int64, knownSHA256: String?, options: UploadOptions, folderPath: String?,
        client: WixMediaClient, context: StageContext
    ) async throws -> StageOutcome {
        var asset = asset
        var options = options
        let fileName = options.fileName
        // generate-upload-url carries externalInfo (the content SHA-256): known from the stage that wrote the file,
        // or one pass over it. Resumable uploads do not send it and hash while they stream.
        if let knownSHA256 {
            if size <= resumableThreshold {
                options.externalInfo = ExternalInfo(origin: origin, externalIds: [knownSHA256])
            }
            if path == asset.origin.path { asset.sourceSHA256 = knownSHA256 }
        } else if size <= resumableThreshold {
            let sha256: String
            if let known = asset.contentDigest, known.path == path, known.size == size {
                sha256 = known.sha256
            } else {
                sha256 = try FileHashing.sha256(ofFileAt: path)
            }
            options.externalInfo = ExternalInfo(origin: origin, externalIds: [sha256])
            if path == asset.origin.path { asset.sourceSHA256 = sha256 }
        }

        let contentSHA256 = knownSHA256 ?? options.externalInfo?.externalIds.first
        // An earlier attempt of this asset: reuse its file if Wix has it, instead of sending it again.
        if let found = try await recoverEarlierUpload(
            asset, options: options, size: size, contentSHA256: contentSHA256, client: client, context: context)
        {
            asset.target = Self.target(found, method: "recovered")
            asset.target?.sentSHA256 = contentSHA256
            asset.values[WixFileReport.self] = asset.target.map { .init($0, attempts: 0) }
            try await context.checkpoint(asset)
            context.logger.info(
                "found the earlier upload; not uploading again",
                metadata: ["file": "\(asset.displayPath)", "wixId": "\(found.id)"])
            return .next(asset)
        }

        // Before the first byte goes: what the next run needs to look for this upload if this one never learns how it
        // ended (a kill, a second Ctrl-C, a lost answer).
        let pending = WixPendingUpload.Value(
            startedAt: Date(), fileName: fileName, size: size, folderID: options.parentFolderId,
            folderPath: folderPath)
        asset.values[WixPendingUpload.self] = pending
        try await context.checkpoint(asset)

        let job = UploadJob(
            path: path, size: size, options: options, resumableAbove: resumableThreshold, chunkSize: chunkBytes,
            startedAt: pending.startedAt,
            takesMD5: verification == .md5, bandwidth: bandwidth.get(), contentSHA256: contentSHA256)
        let outcome = try await client.upload(job)
        var target = Self.target(outcome.descriptor, method: outcome.method)
        target.sentBytes = size
        target.sentMD5 = outcome.digest?.md5
        target.sentSHA256 = outcome.digest?.sha256 ?? knownSHA256
        if let problem = verification.problem(outcome.descriptor, size: size, md5: outcome.digest?.md5) {
            throw WixClientError.verificationFailed("\(asset.displayPath) → \(outcome.descriptor.id): \(problem)")
        }
        if path == asset.origin.path, let sha256 = outcome.digest?.sha256 { asset.sourceSHA256 = sha256 }
        asset.target = target
        asset.values[WixFileReport.self] = .init(target, attempts: outcome.attempts)
        if let width = outcome.descriptor.width, let height = outcome.descriptor.height, asset.dimensions == nil {
            asset.dimensions = PixelSize(width: width, height: height)
        }
        asset.values[WixPendingUpload.self] = nil
        // The file id goes to the ledger now: a crash from here on must not upload the file a second time.
        do {
            try await context.checkpoint(asset)
        } catch let lost as LedgerClaimLost {
            // This process was frozen past its lease during the upload, and another host took the asset over: that
            // host uploads (or adopted) its own copy, so this one is withdrawn — unless the other host adopted it.
            if lost.currentTargetID != outcome.descriptor.id {
                try? await client.deleteFiles(ids: [outcome.descriptor.id], permanent: true)
                context.logger.warning(
                    "lost the claim during the upload; deleted this upload, the other host's stands",
                    metadata: ["file": "\(asset.displayPath)", "wixId": "\(outcome.descriptor.id)"])
            }
            throw lost
        }
        context.logger.info(
            "uploaded",
            metadata: [
                "file": "\(asset.displayPath)", "wixId": "\(outcome.descriptor.id)",
                "status": "\(outcome.descriptor.operationStatus)", "via": "\(outcome.method)",
            ])
        return .next(asset)
    }

    static func target(_ descriptor: FileDescriptor, method: String) -> TargetRecord {
        TargetRecord(
            target: "wix", id: descriptor.id, url: descriptor.url, status: descriptor.operationStatus,
            confirmed: descriptor.isReady, descriptor: descriptor.raw,
            method: method, reportedHash: descriptor.hash.isEmpty ? nil : descriptor.hash)
    }

    static func urlIdentity(_ url: String) -> String { FileHashing.hex(SHA256.hash(data: Data(url.utf8))) }
}
