import Logging
import MediaIngest
import WixMedia

/// After a crash or a kill: finding what an earlier attempt of this asset uploaded, so it is not sent twice.
extension WixUploadStage {
    /// The file an earlier attempt uploaded, if Wix still has it: by the file id the ledger kept (checkpointed right
    /// after the upload) — a FAILED one is deleted so a fresh upload replaces it — or, when the earlier attempt never
    /// learned the outcome, by name, size and time in its target folder (``WixMediaClient/findUploaded(_:)``).
    func recoverEarlierUpload(
        _ asset: Asset, options: UploadOptions, size: Int64, client: WixMediaClient, context: StageContext
    ) async throws -> FileDescriptor? {
        guard let recovery = asset.recovery else { return nil }
        if let previous = recovery.previousTargetID {
            do {
                let file = try await client.file(id: previous)
                if file.isFailed {
                    try await client.deleteFiles(ids: [file.id], permanent: true)
                    context.logger.info(
                        "the earlier upload FAILED at Wix; deleted it, uploading again",
                        metadata: ["file": "\(asset.displayPath)", "wixId": "\(previous)"])
                    return nil
                }
                if file.sizeInBytes == size || file.sizeInBytes == nil || file.sizeInBytes == 0 {
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
        guard let pending = recovery.previousUpload, pending.size == size else { return nil }
        var earlier = options
        earlier.parentFolderId = pending.folderID
        earlier.filePath = pending.folderPath
        earlier.fileName = pending.fileName
        let job = UploadJob(
            path: "", size: size, options: earlier, resumableAbove: resumableThreshold, chunkSize: chunkBytes,
            startedAt: pending.startedAt)
        return try await client.findUploaded(job)
    }
}
