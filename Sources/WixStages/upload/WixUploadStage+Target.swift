import Foundation
import IngestStages
import Logging
import MediaIngest
import WixMedia

/// `folders`: where files go below the configured folder.
enum FolderLayout: String, OptionEnum {
    /// Every file into the same folder (`parentFolderId`, `filePath`).
    case flat
    /// The file's folders below its source root become Media Manager folders.
    case mirror
}

/// `dedupeScope`: where `state.dedupe: "target"` looks for the bytes.
enum DedupeScope: String, OptionEnum {
    /// The folder the file goes to.
    case folder
    /// The whole Media Manager (`MEDIA_ROOT`).
    case site
}

extension WixUploadStage {
    /// Wix's limit on a folder's name (the Folder object's `displayName`).
    static let folderNameLimit = 256

    /// `folders: "mirror"`: the asset's folders below its source root, below `base` (the expanded `filePath` or a
    /// placement's path), as Media Manager folders created where missing; the upload then names the folder by id
    /// (`parentFolderId`) instead of `filePath`, so no 100-character limit applies to the whole path.
    func mirrorFolder(
        for asset: Asset, below base: String?, in options: inout UploadOptions, client: WixMediaClient
    ) async throws -> StageOutcome {
        var components = (base ?? "").split(separator: "/").map(String.init)
        if case .file(_, _, let relative) = asset.origin {
            components += relative.split(separator: "/").dropLast().map(String.init)
        }
        if let long = components.first(where: { $0.count > Self.folderNameLimit }) {
            return .reject(
                asset,
                Rejection(
                    .targetRejected,
                    "upload.wix: the folder name \"\(long.prefix(40))…\" is \(long.count) characters; Wix allows \(Self.folderNameLimit)"
                ))
        }
        let parent = options.parentFolderId ?? "media-root"
        if !components.isEmpty {
            options.parentFolderId = try await client.folder(components, under: parent, create: true)
        }
        options.filePath = nil
        return .next(asset)
    }

    /// The file at Wix that already holds the bytes about to be sent (see ``WixTargetIndex``), as the asset's target:
    /// the asset then leaves `skipped`, with `facts.duplicateOf`; `nil` when there is none (or its folder does not
    /// exist yet, so nothing can be in it).
    func duplicate(
        of asset: Asset, digest: (sha256: String, md5: String), size: Int64, options: UploadOptions,
        index: WixTargetIndex, client: WixMediaClient, context: StageContext
    ) async throws -> Asset? {
        if let file = await index.uploadedThisRun(
            destination: WixTargetIndex.destination(options, site: scope == .site), sha256: digest.sha256, size: size,
            isPrivate: options.isPrivate)
        {
            return try await skip(asset, as: file, evidence: .run, sha256: digest.sha256, context: context)
        }
        var folder = options.parentFolderId ?? "media-root"
        if let path = options.filePath, !path.isEmpty {
            if let existing = try await client.folderID(path: path, under: folder) {
                folder = existing
            } else if scope == .folder {
                return nil  // the folder does not exist (yet): nothing can be in it
            }
        }
        let ledgerIDs = try await context.ledger?.uploads(ofContent: digest.sha256, target: "wix") ?? []
        guard
            let (file, evidence) = try await index.duplicate(
                scope: WixTargetIndex.scope(folder: folder, site: scope == .site), folder: folder, md5: digest.md5,
                size: size, isPrivate: options.isPrivate, ledgerIDs: ledgerIDs)
        else { return nil }
        return try await skip(asset, as: file, evidence: evidence, sha256: digest.sha256, context: context)
    }

    /// The asset, leaving `skipped` as a duplicate of `file`.
    private func skip(
        _ asset: Asset, as file: FileDescriptor, evidence: WixTargetIndex.Evidence, sha256: String,
        context: StageContext
    ) async throws -> Asset {
        var asset = asset
        var target = Self.target(file, method: "duplicate")
        target.sentSHA256 = sha256
        asset.target = target
        asset.duplicateOf = file.id
        if asset.contentPath == asset.origin.path { asset.sourceSHA256 = sha256 }
        asset.facts["duplicateOf"] = .string(file.id)
        asset.values[WixFileReport.self] = .init(target, attempts: 0, matchedBy: evidence.rawValue)
        try await context.checkpoint(asset)
        context.logger.info(
            "already at Wix; not uploading",
            metadata: ["file": "\(asset.displayPath)", "wixId": "\(file.id)", "matchedBy": "\(evidence.rawValue)"])
        return asset
    }
}
