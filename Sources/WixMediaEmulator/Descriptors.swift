import Foundation
import MediaIngest

/// Renders stored objects in the documented JSON shapes (FileDescriptor, Folder).
struct DescriptorRenderer: Sendable {
    /// Base URL for `url` fields (the emulator serves the bytes at `<base>/media/<id>`).
    var baseURL: String
    /// `--opaque-hash`: `hash` is 32 hex characters that are not the MD5.
    var opaqueHash = false
    /// `--renditions-smallest-first`: video renditions in the order of Wix's sample (240p, hls, 144p, then the file).
    var smallestRenditionFirst = false

    /// What `hash` shows for a stored MD5: the MD5, or (opaque) the first 32 hex digits of a SHA-256 of it.
    func hash(_ md5: String) -> String {
        guard opaqueHash, !md5.isEmpty else { return md5 }
        return String(FileHashing.sha256(Data(("wix-emulator-hash:" + md5).utf8)).prefix(32))
    }

    static func date(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The file's public URL, in Wix's shapes: `…/media/<id>` for images and documents, `…/video/<id>/file` for video.
    func url(for file: StoredFile) -> String {
        file.mediaType == "VIDEO" ? "\(baseURL)/video/\(file.id)/file" : "\(baseURL)/media/\(file.id)"
    }

    /// A FileDescriptor (§5 of the API facts).
    func file(_ file: StoredFile, now: Date) -> [String: Any] {
        let status = file.operationStatus(at: now)
        let url = url(for: file)
        var media: Any = NSNull()
        if file.blob != nil {
            let size = String(file.sizeInBytes)
            switch file.mediaType {
            case "IMAGE", "VECTOR":
                var image: [String: Any] = [
                    "id": file.id, "url": url, "filename": file.displayName, "sizeInBytes": size, "altText": NSNull(),
                    "urlExpirationDate": NSNull(),
                ]
                if let width = file.width, let height = file.height {
                    image["width"] = width
                    image["height"] = height
                }
                media = [
                    file.mediaType == "VECTOR" ? "vector" : "image": [
                        "image": image, "colors": NSNull(), "faces": [Any](), "previewImage": NSNull(),
                        "caption": NSNull(),
                    ]
                ]
            case "VIDEO":
                var resolutions: [[String: Any]] = []
                if status == "READY" {
                    let original: [String: Any] = [
                        "url": url, "height": file.height ?? 0, "width": file.width ?? 0, "format": "mp4",
                        "quality": "original", "filename": file.displayName, "sizeInBytes": size,
                        "urlExpirationDate": NSNull(), "poster": NSNull(),
                    ]
                    resolutions = [original]
                    if smallestRenditionFirst {
                        func scaled(_ lines: Int, _ quality: String) -> [String: Any] {
                            let height = min(lines, file.height ?? lines)
                            let width = (file.width ?? 0) * height / max(file.height ?? 1, 1)
                            return [
                                "url": url + "?quality=\(quality)", "height": height, "width": width, "format": "mp4",
                                "quality": quality, "filename": file.displayName, "sizeInBytes": NSNull(),
                                "urlExpirationDate": NSNull(), "poster": NSNull(),
                            ]
                        }
                        let hls: [String: Any] = [
                            "url": url + ".m3u8", "height": 0, "width": 0, "format": "hls", "quality": "auto",
                            "filename": NSNull(), "sizeInBytes": NSNull(), "urlExpirationDate": NSNull(),
                            "poster": NSNull(),
                        ]
                        resolutions = [scaled(240, "240p"), hls, scaled(144, "144p"), original]
                    }
                }
                media = [
                    "video": [
                        "id": file.id, "url": url, "filename": file.displayName, "resolutions": resolutions,
                        "posters": [Any](), "sizeInBytes": size, "urlExpirationDate": NSNull(),
                    ]
                ]
            case "AUDIO":
                media = [
                    "audio": [
                        "id": file.id, "assets": [["id": file.id, "url": url, "filename": file.displayName]],
                        "bitrate": NSNull(), "format": NSNull(), "duration": NSNull(), "sizeInBytes": size,
                    ]
                ]
            case "ARCHIVE":
                media = [
                    "archive": [
                        "id": file.id, "url": url, "filename": file.displayName, "sizeInBytes": size,
                        "urlExpirationDate": NSNull(),
                    ]
                ]
            case "MODEL3D":
                media = [
                    "model3d": [
                        "id": file.id, "url": url, "filename": file.displayName, "sizeInBytes": size,
                        "thumbnail": NSNull(), "altText": NSNull(), "urlExpirationDate": NSNull(),
                    ]
                ]
            default:
                media = ["document": ["id": file.id, "url": url, "filename": file.displayName]]
            }
        }
        return [
            "id": file.id,
            "displayName": file.displayName,
            "url": url,
            "parentFolderId": file.parentFolderId,
            "hash": hash(file.hash),
            "sizeInBytes": String(file.sizeInBytes),
            "private": file.isPrivate,
            "mediaType": file.mediaType,
            "media": media,
            "operationStatus": status,
            "sourceUrl": file.sourceUrl ?? NSNull(),
            "thumbnailUrl": file.mediaType == "IMAGE" ? url as Any : NSNull(),
            "labels": file.labels,
            "createdDate": Self.date(file.createdDate),
            "updatedDate": Self.date(file.updatedDate),
            "siteId": file.siteId,
            "state": file.state,
        ]
    }

    /// A Folder (§9).
    func folder(_ folder: StoredFolder) -> [String: Any] {
        [
            "id": folder.id, "displayName": folder.displayName, "parentFolderId": folder.parentFolderId,
            "createdDate": Self.date(folder.createdDate), "updatedDate": Self.date(folder.updatedDate),
            "state": folder.state,
        ]
    }
}

/// Reads and validates the fields of a JSON request body, collecting every violation (Wix answers them all at once).
struct FieldReader {
    let object: [String: Any]
    private(set) var violations: [WixError.FieldViolation] = []

    init(_ object: [String: Any]) { self.object = object }

    mutating func violation(_ field: String, _ description: String, rule: String) {
        violations.append(.init(field: field, description: description, violatedRule: rule))
    }

    mutating func string(_ field: String, required: Bool = false, maxLength: Int) -> String? {
        guard let value = object[field], !(value is NSNull) else {
            if required { violation(field, "is required", rule: "REQUIRED_FIELD") }
            return nil
        }
        guard let text = value as? String else {
            violation(field, "must be a string", rule: "FORMAT")
            return nil
        }
        if required && text.isEmpty { violation(field, "must not be empty", rule: "MIN_LENGTH") }
        if text.count > maxLength {
            violation(field, "must be at most \(maxLength) characters, got \(text.count)", rule: "MAX_LENGTH")
        }
        return text
    }

    mutating func bool(_ field: String) -> Bool? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        // JSONSerialization answers booleans as a distinct NSNumber subclass; 1 and 0 are numbers, not booleans.
        guard let number = value as? NSNumber, String(describing: type(of: number)).contains("Boolean") else {
            violation(field, "must be a boolean", rule: "FORMAT")
            return nil
        }
        return number.boolValue
    }

    /// An int64 sent as a decimal string, as Wix's JSON mapping requires.
    /// An int64 written as a decimal string (the 2023 docs); with `acceptNumber`, a JSON number too (Wix's newer
    /// types make `sizeInBytes` read-only rather than string-only).
    mutating func int64String(_ field: String, acceptNumber: Bool = false) -> String? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        if acceptNumber, !(value is String), let number = value as? NSNumber,
            !String(describing: type(of: number)).contains("Boolean"), number.int64Value >= 0,
            Double(number.int64Value) == number.doubleValue
        {
            return String(number.int64Value)
        }
        guard let text = value as? String, !text.isEmpty, text.allSatisfy(\.isASCII),
            Int64(text).map({ $0 >= 0 }) == true
        else {
            violation(
                field, "must be a non-negative int64 written as a decimal string, like \"2608831\"", rule: "FORMAT")
            return nil
        }
        return text
    }

    mutating func strings(_ field: String, maxItems: Int, maxLength: Int) -> [String]? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        guard let array = value as? [Any], let items = array as? [String] else {
            violation(field, "must be an array of strings", rule: "FORMAT")
            return nil
        }
        if items.count > maxItems {
            violation(field, "must have at most \(maxItems) items, got \(items.count)", rule: "MAX_ITEMS")
        }
        for (index, item) in items.enumerated() where item.count > maxLength {
            violation("\(field)[\(index)]", "must be at most \(maxLength) characters", rule: "MAX_LENGTH")
        }
        return items
    }

    mutating func externalInfo() -> (origin: String?, ids: [String]?) {
        guard let value = object["externalInfo"], !(value is NSNull) else { return (nil, nil) }
        guard let info = value as? [String: Any] else {
            violation("externalInfo", "must be an object with origin and externalIds", rule: "FORMAT")
            return (nil, nil)
        }
        var nested = FieldReader(info)
        let origin = nested.string("origin", maxLength: 100)
        let ids = nested.strings("externalIds", maxItems: 100, maxLength: 200)
        violations += nested.violations.map {
            .init(field: "externalInfo.\($0.field)", description: $0.description, violatedRule: $0.violatedRule)
        }
        return (origin, ids)
    }
}
