import Foundation
import MediaIngest

/// A Wix FileDescriptor (the fields the client reads; the whole object is kept in ``raw``).
public struct FileDescriptor: Sendable, Hashable {
    public var id: String
    public var displayName: String
    public var url: String?
    public var parentFolderId: String?
    /// Content hash; 32 hex characters (MD5) in every sample Wix shows, `""` while an import is pending.
    public var hash: String
    public var sizeInBytes: Int64?
    public var mediaType: String?
    /// `PENDING`, `READY` or `FAILED`.
    public var operationStatus: String
    public var isPrivate: Bool
    public var labels: [String]
    /// Image or video dimensions from `media`, when present (for video, the largest rendition: Wix lists them in
    /// no documented order, and its sample starts with the smallest).
    public var width: Int?
    public var height: Int?
    /// When Wix created the file.
    public var createdDate: Date?
    /// When Wix last changed the file (never earlier than ``createdDate``); the sort field Wix documents for listings.
    public var updatedDate: Date?
    /// The descriptor as Wix sent it.
    public var raw: JSONValue

    /// Reads a descriptor from its JSON.
    public init(json: JSONValue) throws(WixClientError) {
        guard let id = json["id"]?.stringValue else { throw .malformedResponse("a file descriptor without an id") }
        self.id = id
        displayName = json["displayName"]?.stringValue ?? id
        url = json["url"]?.stringValue
        parentFolderId = json["parentFolderId"]?.stringValue
        hash = json["hash"]?.stringValue ?? ""
        sizeInBytes = json["sizeInBytes"]?.stringValue.flatMap { Int64($0) } ?? json["sizeInBytes"]?.intValue
        mediaType = json["mediaType"]?.stringValue
        operationStatus = json["operationStatus"]?.stringValue ?? "PENDING"
        isPrivate = json["private"]?.boolValue ?? false
        labels = json["labels"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let media = json["media"]
        let image = media?["image"]?["image"] ?? media?["vector"]?["image"]
        let renditions = media?["video"]?["resolutions"]?.arrayValue ?? []
        let video = renditions.max {
            ($0["width"]?.intValue ?? 0) * ($0["height"]?.intValue ?? 0) < ($1["width"]?.intValue ?? 0)
                * ($1["height"]?.intValue ?? 0)
        }
        width = (image?["width"] ?? video?["width"])?.intValue.map { Int($0) }
        height = (image?["height"] ?? video?["height"])?.intValue.map { Int($0) }
        createdDate = json["createdDate"]?.stringValue.flatMap(Self.date)
        updatedDate = json["updatedDate"]?.stringValue.flatMap(Self.date)
        raw = json
    }

    /// Wix writes dates with and without fractional seconds (`2022-09-11T15:13:24.000Z`, `2022-08-21T15:39:09Z`).
    /// (Foundation's format style, not `ISO8601DateFormatter`: that one builds an ICU formatter per use, which was an
    /// eighth of a run's CPU while await-ready parsed descriptors.) Offsets other than `Z` are honoured.
    static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// `true` once processing ended well.
    public var isReady: Bool { operationStatus == "READY" }
    /// `true` once processing ended badly.
    public var isFailed: Bool { operationStatus == "FAILED" }
    /// `true` for a file in the trash: Wix keeps it READY (and `state: OK`) with `parentFolderId: "trash-root"`, but
    /// it is not in the Media Manager any more — never a copy to keep, adopt or count as a duplicate.
    public var isTrashed: Bool {
        parentFolderId == Self.trashRoot || raw["state"]?.stringValue == "DELETED"
    }
    /// Files in folders hidden from the Media Manager's UI (visitor uploads), which a site-wide search may return.
    public var isInHiddenFolder: Bool { parentFolderId.map(Self.hiddenRoots.contains) ?? false }

    /// The trash's folder id.
    public static let trashRoot = "trash-root"
    /// Root folders that are not the site's media (Wix's `VISITOR_UPLOADS_ROOT`, and the trash).
    public static let hiddenRoots: Set<String> = ["visitor-uploads", trashRoot]
}

/// `externalInfo` (§1): ties Wix's File Ready / File Failed events back to the caller's records.
public struct ExternalInfo: Sendable, Hashable {
    public var origin: String
    public var externalIds: [String]
    public init(origin: String, externalIds: [String]) {
        self.origin = origin
        self.externalIds = externalIds
    }
    var json: JSONValue { ["origin": .string(origin), "externalIds": .array(externalIds.map { .string($0) })] }
}

/// The fields shared by generate-upload-url, generate-resumable-upload-url and import (§1, §3, §4).
public struct UploadOptions: Sendable, Hashable {
    public var mimeType: String
    public var fileName: String
    public var sizeInBytes: Int64?
    public var parentFolderId: String?
    public var filePath: String?
    public var labels: [String]
    public var isPrivate: Bool
    public var externalInfo: ExternalInfo?

    public init(
        mimeType: String, fileName: String, sizeInBytes: Int64? = nil, parentFolderId: String? = nil,
        filePath: String? = nil,
        labels: [String] = [], isPrivate: Bool = false, externalInfo: ExternalInfo? = nil
    ) {
        self.mimeType = mimeType
        self.fileName = fileName
        self.sizeInBytes = sizeInBytes
        self.parentFolderId = parentFolderId
        self.filePath = filePath
        self.labels = labels
        self.isPrivate = isPrivate
        self.externalInfo = externalInfo
    }

    /// The JSON body of a generate-upload-url (or, `resumable`, generate-resumable-upload-url) request.
    func generateBody(resumable: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "mimeType": .string(mimeType), "fileName": .string(fileName), "private": .bool(isPrivate),
        ]
        if let sizeInBytes { body["sizeInBytes"] = .string(String(sizeInBytes)) }
        if let parentFolderId { body["parentFolderId"] = .string(parentFolderId) }
        if let filePath { body["filePath"] = .string(filePath) }
        if !labels.isEmpty { body["labels"] = .array(labels.map { .string($0) }) }
        if resumable {
            body["uploadProtocol"] = "TUS"
        } else if let externalInfo {
            body["externalInfo"] = externalInfo.json
        }
        return .object(body)
    }

    /// A file name safe for `?filename=` and `displayName`: no folders, no control characters, at most 200
    /// characters (keeping the extension).
    public static func sanitizedFileName(_ name: String) -> String {
        // A name's bytes that are not UTF-8 read as Latin-1 (FileName), never sent as private-use characters.
        let last =
            name.presentableFileName.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var clean = String(
            String.UnicodeScalarView(
                last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) }
            ))
        clean = clean.trimmingCharacters(in: .whitespaces)
        if clean.isEmpty || clean == "." || clean == ".." { clean = "file" }
        if clean.count > 200 {
            let ext = (clean as NSString).pathExtension
            let keep = ext.isEmpty || ext.count > 16 ? "" : "." + ext
            clean = String(clean.prefix(200 - keep.count)) + keep
        }
        return clean
    }
}
