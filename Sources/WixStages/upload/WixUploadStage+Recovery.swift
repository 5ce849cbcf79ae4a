import Foundation
import IngestStages
import Logging
import MediaIngest
import WixMedia

/// After a crash or a kill: finding what an earlier attempt of this asset uploaded, so it is not sent twice.
extension WixUploadStage {
    /// The file an earlier attempt uploaded, if Wix still has it: by the file id the ledger kept (checkpointed right
    /// after the upload) — a FAILED one is deleted so a fresh upload replaces it — or, when the earlier attempt never
    /// learned the outcome, by name, size, time and privacy in its target folder, proven to hold these bytes
    /// (``WixMediaClient/findUploaded(_:)``). A file in the trash is not recovered: it is not in the Media Manager.
    func recoverEarlierUpload(
        _ asset: Asset, options: UploadOptions, size: Int64?, contentSHA256: String?, client: WixMediaClient,
        context: StageContext
    ) async throws -> FileDescriptor? {
        guard let recovery = asset.recovery else { return nil }
        if let previous = recovery.previousTargetID {
            do {
                let file = try await client.file(id: previous)
                if file.isTrashed {
                    // Someone moved it to the trash: it is not in the Media Manager, so the asset is not either.
                    context.logger.info(
                        "the earlier upload is in the trash at Wix; uploading again",
                        metadata: ["file": "\(asset.displayPath)", "wixId": "\(previous)"])
                    return nil
                }
                if file.isFailed {
                    try await client.deleteFiles(ids: [file.id], permanent: true)
                    context.logger.info(
                        "the earlier upload FAILED at Wix; deleted it, uploading again",
                        metadata: ["file": "\(asset.displayPath)", "wixId": "\(previous)"])
                    return nil
                }
                // `size` is nil for an import: Wix fetched the bytes itself.
                if size == nil || file.sizeInBytes == size || file.sizeInBytes == nil || file.sizeInBytes == 0 {
                    client.claim(file.id)
                    return file
                }
                context.logger.info(
                    "the earlier upload differs; uploading again",
                    metadata: ["file": "\(asset.displayPath)", "wixId": "\(previous)"])
            } catch let error as WixClientError {
                if error.code == .http && error.status == 404 { return nil }
                throw error
            }
            return nil
        }
        guard let size, let pending = recovery.values[WixPendingUpload.self], pending.size == size else { return nil }
        var earlier = options
        earlier.parentFolderId = pending.folderID
        earlier.filePath = pending.folderPath
        earlier.fileName = pending.fileName
        let path = asset.contentPath ?? ""
        let job = UploadJob(
            path: path, size: size, options: earlier, resumableAbove: resumableThreshold, chunkSize: chunkBytes,
            startedAt: pending.startedAt, contentSHA256: contentSHA256)
        return try await client.findUploaded(job)
    }

    /// `upload.wix` for a URL source: Bulk Import File (the run's imports gathered, 100 a call), checkpointed before
    /// the POST and after it, so neither a lost answer nor a crash (during the import or the wait for READY) imports
    /// the URL a second time: an earlier attempt's import is recovered by its id, or found by its source URL in the
    /// target folder.
    func importURL(
        _ url: String, asset: Asset, options: UploadOptions, client: WixMediaClient, context: StageContext
    ) async throws -> Asset {
        var asset = asset
        var found: FileDescriptor?
        if asset.recovery?.previousTargetID != nil {
            found = try await recoverEarlierUpload(
                asset, options: options, size: nil, contentSHA256: nil, client: client, context: context)
        } else if let pending = asset.recovery?.values[WixPendingUpload.self] {
            var earlier = options
            earlier.parentFolderId = pending.folderID
            earlier.filePath = pending.folderPath
            found = try await client.findImported(url: url, options: earlier, since: pending.startedAt)
        }
        let descriptor: FileDescriptor
        if let found {
            descriptor = found
            client.claim(found.id)
            context.logger.info(
                "found the earlier import; not importing again",
                metadata: ["file": "\(asset.displayPath)", "wixId": "\(found.id)"])
        } else {
            let pending = WixPendingUpload.Value(
                startedAt: Date(), fileName: options.fileName, size: 0, folderID: options.parentFolderId,
                folderPath: options.filePath)
            asset.values[WixPendingUpload.self] = pending
            try await context.checkpoint(asset)
            let request = ImportRequest(url: url, options: options)
            if let batcher = imports.get() {
                descriptor = try await batcher.importFile(request, since: pending.startedAt)
            } else {
                descriptor = try await client.importOnce(url: url, options: options, since: pending.startedAt)
            }
            context.logger.info(
                "import requested", metadata: ["file": "\(asset.displayPath)", "wixId": "\(descriptor.id)"])
        }
        asset.values[WixPendingUpload.self] = nil
        asset.target = Self.target(descriptor, method: found == nil ? "import" : "recovered")
        asset.values[WixFileReport.self] = asset.target.map { .init($0, attempts: found == nil ? 1 : 0) }
        // The file id goes to the ledger now: a crash while waiting for READY must not import it again.
        try await context.checkpoint(asset)
        return asset
    }
}
