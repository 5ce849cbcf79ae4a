import Crypto
import Foundation
import Logging
import MediaFormats
import MediaIngest

/// `upload.library`: the embedded default target — a local media library folder.
///
/// Each file is stored once, content-addressed, with a JSON descriptor beside it shaped like a Wix file descriptor:
///
/// ```
/// library/
///   files/3f/3f9c…e1.jpg     the bytes (after stripping, if a strip stage ran)
///   files/3f/3f9c…e1.json    {"id": "3f9c2a_…~mv2.jpg", "displayName": "IMG_0001.jpg", "hash": "<md5>", …}
/// ```
///
/// Writes are atomic (temporary file, `fsync`, `rename`), so a crash never leaves a half-written file under its final
/// name. Storing the same content again is a no-op that returns the existing descriptor.
public struct LibraryStage: Stage, StageDefinition {
    public static let kind = "upload.library"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .targetRejected
    ]
    public static let phase = StagePhase.upload
    public static let summary =
        "Store files in a local media library folder, content-addressed, with a Wix-shaped JSON descriptor."

    static let path = StageOption<PathOption>("path", doc: "The library folder (created if missing).")
    static let folder = StageOption<String>(
        "folder", default: "media-root", doc: "The folder id recorded as parentFolderId in descriptors.")
    static let labels = StageOption<[String]>("labels", default: [], doc: "Labels recorded in new descriptors.")
    static let maxBytesPerSecond = StageOption<ByteSize?>(
        "maxBytesPerSecond", doc: BandwidthOption.documentation)
    static let layout = StageOption<String?>(
        "layout",
        doc:
            "Store files where people can browse them: a path template below the library (`{yyyy}/{mm}/{name}`; placeholders yyyy, mm, dd, family, ext, pipeline, name, stem, sha256). A taken name gets \" (1)\", never overwritten; the same bytes are stored once. Default: content-addressed under files/."
    )
    public static let options = [path.spec, folder.spec, labels.spec, maxBytesPerSecond.spec, layout.spec]

    /// The library folder.
    public let libraryPath: String
    let folderID: String
    let labelList: [String]
    let bandwidthLimit: Int64?
    let bandwidth = Holder<ByteRateLimiter>()
    /// Where files go when people browse the library; `nil`: content-addressed under `files/`.
    let layoutTemplate: LayoutTemplate?

    public init(options: OptionValues, context: StageBuildContext) throws {
        libraryPath = try options[Self.path].path
        do {
            layoutTemplate = try options[Self.layout].map { try LayoutTemplate($0) }
        } catch let problem as PlaceholderTemplate.Problem {
            throw options.error(Self.layout, problem.message)
        }
        folderID = try options[Self.folder]
        labelList = try options[Self.labels]
        bandwidthLimit = try BandwidthOption.limit(options, Self.maxBytesPerSecond)
        if folderID.isEmpty || folderID.count > 100 { throw options.error(Self.folder, "expected 1 to 100 characters") }
        if labelList.count > 50 { throw options.error(Self.labels, "at most 50 labels, got \(labelList.count)") }
    }

    /// Creates the stage programmatically.
    public init(libraryPath: String, folder: String = "media-root", labels: [String] = []) {
        self.libraryPath = libraryPath
        self.folderID = folder
        self.labelList = labels
        self.bandwidthLimit = nil
        self.layoutTemplate = nil
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        try FileSystem.createDirectory(libraryPath + "/files")
        try FileSystem.createDirectory(libraryPath + "/.tmp")
        if let bandwidthLimit {
            bandwidth.set(BandwidthOption.limiter(bandwidthLimit, target: "library|" + libraryPath, context: context))
        }
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws { bandwidth.set(nil) }

    public var reportInfo: [String: JSONValue] { ["library": .string(libraryPath)] }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let content = asset.contentPath else {
            return .reject(
                asset,
                Rejection(
                    .targetRejected,
                    "upload.library stores local files; \(asset.displayPath) is a URL (use upload.wix to import URLs)"))
        }
        var asset = asset
        if context.pipeline.dedupe == .target, let found = try existing(content, of: asset) {
            return .next(found)
        }
        let temporary = libraryPath + "/.tmp/\(context.pipeline.runID)-\(asset.id)-\(UInt32.random(in: 0...UInt32.max))"
        var digest = RunningDigest()
        let size: Int64
        do {
            if let limiter = bandwidth.get() {
                size = try await FileSystem.copy(from: content, to: temporary, exclusive: true, limiter: limiter) {
                    digest.update($0)
                }
            } else {
                size = try FileSystem.copy(from: content, to: temporary, exclusive: true) { digest.update($0) }
            }
        } catch {
            FileSystem.removeFile(temporary)
            throw error
        }
        let sha256 = digest.sha256Hex
        let md5Hex = digest.md5Hex ?? ""
        if content == asset.origin.path { asset.sourceSHA256 = sha256 }

        let mime = asset.declaredMIME
        let family = asset.mime?.family ?? MediaTypeTable.standard.family(forMIME: mime)
        let ext = Self.fileExtension(for: asset, mime: mime)
        let shard = String(sha256.prefix(2))
        let directory = libraryPath + "/files/" + shard
        var storedPath = directory + "/" + sha256 + (ext.isEmpty ? "" : "." + ext)
        let descriptorPath = directory + "/" + sha256 + ".json"

        var duplicate = false
        do {
            try FileSystem.createDirectory(directory)
            if let layoutTemplate {
                (storedPath, duplicate) = try placeByLayout(
                    temporary, layout: layoutTemplate, size: size, sha256: sha256, descriptorPath: descriptorPath,
                    asset: asset, pipeline: context.pipeline.pipelineName)
            } else if let existing = try? FileStatus.of(storedPath), existing.size == size {
                duplicate = true
                FileSystem.removeFile(temporary)
            } else {
                try FileSystem.rename(temporary, to: storedPath)
                FileSystem.syncDirectory(directory)
            }
        } catch {
            FileSystem.removeFile(temporary)
            throw error
        }

        let descriptor: JSONValue
        if duplicate, let data = FileManager.default.contents(atPath: descriptorPath),
            let existing = try? JSONDecoder().decode(JSONValue.self, from: data)
        {
            descriptor = existing
        } else {
            if asset.dimensions == nil, family == .image || family == .vector,
                let dimensions = try? ImageHeaders.dimensions(ofFileAt: storedPath)
            {
                asset.dimensions = dimensions
            }
            descriptor = makeDescriptor(
                asset: asset, sha256: sha256, md5: md5Hex, size: size, mime: mime, family: family, ext: ext,
                storedPath: storedPath)
            try FileSystem.writeAtomically(Data(descriptor.jsonText(pretty: true).utf8), to: descriptorPath)
        }
        asset.target = TargetRecord(
            target: "library", id: descriptor["id"]?.stringValue ?? sha256, url: descriptor["url"]?.stringValue,
            status: "READY",
            confirmed: true, descriptor: descriptor, sentBytes: size, sentSHA256: sha256, method: "copy")
        asset.facts["library"] = [
            "path": .string(storedPath), "duplicate": .bool(duplicate), "sha256": .string(sha256),
        ]
        context.logger.debug("stored", metadata: ["path": "\(storedPath)", "duplicate": "\(duplicate)"])
        return .next(asset)
    }

    /// `state.dedupe: "target"`: the library's own index — `files/<2 hex>/<SHA-256>.json`, one descriptor per stored
    /// content — already holds these bytes (the descriptor, and its file at the size the descriptor says). The asset
    /// then costs no copy and leaves `skipped`, with the stored file's path in `facts.duplicateOf`.
    func existing(_ content: String, of asset: Asset) throws -> Asset? {
        let size = try FileStatus.of(content).size
        let sha256: String
        if let known = asset.contentDigest, known.path == content, known.size == size {
            sha256 = known.sha256
        } else {
            sha256 = try FileHashing.sha256(ofFileAt: content)
        }
        let descriptorPath = libraryPath + "/files/" + String(sha256.prefix(2)) + "/" + sha256 + ".json"
        guard let data = FileManager.default.contents(atPath: descriptorPath),
            let descriptor = try? JSONDecoder().decode(JSONValue.self, from: data),
            let url = descriptor["url"]?.stringValue, let stored = URL(string: url)?.path,
            descriptor["sizeInBytes"]?.stringValue == String(size), (try? FileStatus.of(stored))?.size == size
        else { return nil }
        var asset = asset
        asset.target = TargetRecord(
            target: "library", id: descriptor["id"]?.stringValue ?? sha256, url: url, status: "READY", confirmed: true,
            descriptor: descriptor, sentSHA256: sha256, method: "duplicate")
        asset.duplicateOf = stored
        asset.facts["duplicateOf"] = .string(stored)
        if content == asset.origin.path { asset.sourceSHA256 = sha256 }
        return asset
    }

    func makeDescriptor(
        asset: Asset, sha256: String, md5: String, size: Int64, mime: String, family: MediaFamily, ext: String,
        storedPath: String
    ) -> JSONValue {
        let now = ISO8601.string(from: Date())
        let idStem = String(sha256.prefix(6)) + "_" + String(sha256.dropFirst(6).prefix(32))
        let id =
            family == .image
            ? idStem + "~mv2" + (ext.isEmpty ? "" : "." + ext) : idStem + (ext.isEmpty ? "" : "." + ext)
        let url = "file://" + (storedPath.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? storedPath)
        var media: JSONValue = .null
        switch family {
        case .image, .vector:
            var image: [String: JSONValue] = [
                "id": .string(id), "url": .string(url), "filename": .string(asset.fileName.presentableFileName),
                "sizeInBytes": .string(String(size)),
            ]
            if let dimensions = asset.dimensions {
                image["width"] = .int(Int64(dimensions.width))
                image["height"] = .int(Int64(dimensions.height))
            }
            media = [family == .vector ? "vector" : "image": ["image": .object(image)]]
        case .document:
            media = [
                "document": [
                    "id": .string(id), "url": .string(url), "filename": .string(asset.fileName.presentableFileName),
                ]
            ]
        case .archive:
            media = [
                "archive": [
                    "id": .string(id), "url": .string(url), "filename": .string(asset.fileName.presentableFileName),
                    "sizeInBytes": .string(String(size)),
                ]
            ]
        case .video:
            media = [
                "video": [
                    "id": .string(id), "url": .string(url), "filename": .string(asset.fileName.presentableFileName),
                    "sizeInBytes": .string(String(size)),
                ]
            ]
        case .audio:
            media = [
                "audio": [
                    "id": .string(id),
                    "assets": [
                        [
                            "id": .string(id), "url": .string(url),
                            "filename": .string(asset.fileName.presentableFileName),
                        ]
                    ],
                    "sizeInBytes": .string(String(size)),
                ]
            ]
        case .model3d:
            media = [
                "model3d": [
                    "id": .string(id), "url": .string(url), "filename": .string(asset.fileName.presentableFileName),
                    "sizeInBytes": .string(String(size)),
                ]
            ]
        case .other:
            media = .null
        }
        var externalIDs: [JSONValue] = []
        if let source = asset.sourceSHA256 { externalIDs.append(.string(source)) }
        return [
            "id": .string(id),
            "displayName": .string(asset.fileName.presentableFileName),
            "url": .string(url),
            "parentFolderId": .string(asset.placement?.folderID ?? folderID),
            "hash": .string(md5),
            "sha256": .string(sha256),
            "sizeInBytes": .string(String(size)),
            "mimeType": .string(mime),
            "mediaType": .string(family.wixMediaType),
            "media": media,
            "operationStatus": "READY",
            "labels": .array(labelList.map { .string($0) }),
            "private": false,
            "state": "OK",
            "siteId": "local",
            "sourceUrl": .null,
            "thumbnailUrl": family == .image ? .string(url) : .null,
            "createdDate": .string(now),
            "updatedDate": .string(now),
            "externalInfo": ["origin": "media-ingest", "externalIds": .array(externalIDs)],
        ]
    }

    /// The stored file's extension: the source's if it fits the detected type, else the type's preferred one.
    static func fileExtension(for asset: Asset, mime: String) -> String {
        let sourceExtension = asset.sourceExtension
        let fitting = asset.mime?.extensions ?? MediaTypeTable.standard.entry(forMIME: mime)?.extensions ?? []
        if fitting.contains(sourceExtension) || (fitting.isEmpty && sourceExtension.count <= 8) {
            return Self.sanitizedExtension(sourceExtension)
        }
        return fitting.first ?? ""
    }

    static func sanitizedExtension(_ ext: String) -> String {
        String(ext.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(8))
    }
}

extension MediaFamily {
    /// The Wix `mediaType` enum value for this family.
    public var wixMediaType: String {
        switch self {
        case .image: return "IMAGE"
        case .vector: return "VECTOR"
        case .video: return "VIDEO"
        case .audio: return "AUDIO"
        case .document: return "DOCUMENT"
        case .archive: return "ARCHIVE"
        case .model3d: return "MODEL3D"
        case .other: return "OTHER"
        }
    }
}
