import Foundation
import IngestStages
import Logging
import MediaIngest

/// `rename.template`: gives the uploaded file a name built from a template, using the date the picture was taken
/// (EXIF `DateTimeOriginal`, read from the untouched source file, so it works before or after `strip.metadata`).
///
/// ```json
/// { "kind": "rename.template", "with": { "template": "{date}_{time}_{name}.{ext}" } }
/// ```
/// turns `IMG_0042.JPG` taken on 1 May 2024 at 15:30:12 into `2024-05-01_153012_IMG_0042.jpg`. Only the name at the
/// target changes; the source file is never renamed.
public struct RenameTemplateStage: Stage, StageDefinition {
    public static let kind = "rename.template"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(noDateTaken, "no date taken in the file's EXIF, and `fallback` is `reject`"),
        .rejection(.custom, "the template gives an empty name"),
    ]
    public static let phase = StagePhase.transform
    public static let summary =
        "Rename the file at the target from a template: EXIF date taken, camera, original name, detected extension."

    /// What to do with files that have no EXIF date.
    public enum Fallback: String, OptionEnum {
        /// Use the source file's modification time (in `timeZone`).
        case mtime
        /// Keep the file's name unchanged.
        case keep
        /// Reject the file (`no_date_taken`).
        case reject
    }

    static let template = StageOption<String>(
        "template",
        doc:
            "The new name. Placeholders: {name} (original name without extension), {ext} (extension fitting the content), {yyyy} {mm} {dd} {hh} {min} {ss}, {date} (yyyy-mm-dd), {time} (hhmmss), {camera}, {family}, {sha8} (first 8 hex digits of the content SHA-256)."
    )
    static let fallback = StageOption<Fallback>(
        "fallback", default: .mtime,
        doc: "Files without an EXIF date: use the modification time, keep the name, or reject.")
    static let timeZone = StageOption<String>(
        "timeZone", default: "UTC",
        doc:
            "Time zone the modification-time fallback is rendered in (EXIF dates are the camera's local time and stay as written)."
    )
    static let maxLength = StageOption<Int>(
        "maxLength", default: 200, doc: "Longer names are cut short before the extension.")
    public static let options = [template.spec, fallback.spec, timeZone.spec, maxLength.spec]

    /// The rejection code for files without a date when `fallback` is `reject`.
    public static let noDateTaken: Rejection.Code = "no_date_taken"

    static let placeholders = [
        "name", "ext", "yyyy", "mm", "dd", "hh", "min", "ss", "date", "time", "camera", "family", "sha8",
    ]
    static let datePlaceholders: Set<String> = ["yyyy", "mm", "dd", "hh", "min", "ss", "date", "time"]

    let template: PlaceholderTemplate
    let fallbackPolicy: Fallback
    let zone: TimeZone
    let lengthLimit: Int

    public init(options: OptionValues, context: StageBuildContext) throws {
        let text = try options[Self.template]
        do {
            template = try PlaceholderTemplate(text, placeholders: Self.placeholders)
        } catch {
            throw options.error(Self.template, error.message)
        }
        if template.parts.isEmpty { throw options.error(Self.template, "the template is empty") }
        if template.anyText({ $0.contains("/") }) {
            throw options.error(
                Self.template,
                "a file name cannot contain \"/\"; use upload.wix's filePath or route.by-type for folders")
        }
        fallbackPolicy = try options[Self.fallback]
        let zoneName = try options[Self.timeZone]
        guard let zone = TimeZone(identifier: zoneName) else {
            throw options.error(
                Self.timeZone, "unknown time zone \"\(zoneName)\"",
                suggestion: "use an IANA name such as \"UTC\" or \"Europe/Berlin\"")
        }
        self.zone = zone
        lengthLimit = try options[Self.maxLength]
        if !(16...255).contains(lengthLimit) {
            throw options.error(Self.maxLength, "expected 16 to 255, got \(lengthLimit)")
        }
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        var asset = asset
        let usesDate = Self.datePlaceholders.contains { template.uses($0) }
        // EXIF is read from the source: strip.metadata may already have removed it from the work copy.
        let exifSource = asset.origin.path ?? asset.contentPath
        let exif: EXIFFacts?
        do {
            exif = try exifSource.flatMap { try EXIFReader.facts(ofFileAt: $0) }
        } catch {
            exif = nil
            context.logger.debug("no EXIF read", metadata: ["file": "\(asset.displayPath)", "reason": "\(error)"])
        }

        var date = exif?.dateTaken
        var dateSource = exif?.dateTakenTag
        if date == nil, usesDate {
            switch fallbackPolicy {
            case .keep:
                asset.facts["rename"] = ["kept": .bool(true), "reason": "no EXIF date taken"]
                return .next(asset)
            case .reject:
                return .reject(
                    asset,
                    Rejection(
                        Self.noDateTaken,
                        "rename.template: \(asset.displayPath) has no EXIF date taken (DateTimeOriginal, DateTimeDigitized or DateTime)"
                    ))
            case .mtime:
                guard let modified = asset.modificationDate else {
                    return .reject(
                        asset,
                        Rejection(
                            Self.noDateTaken,
                            "rename.template: \(asset.displayPath) has neither an EXIF date nor a modification time"))
                }
                date = EXIFDateTime(modified, timeZone: zone)
                dateSource = "mtime"
            }
        }

        var values: [String: String] = [:]
        let original = asset.fileName
        let stem = (original as NSString).deletingPathExtension
        values["name"] = stem.isEmpty ? original : stem
        values["ext"] = Self.fileExtension(for: asset)
        if let date {
            values["yyyy"] = String(format: "%04d", date.year)
            values["mm"] = String(format: "%02d", date.month)
            values["dd"] = String(format: "%02d", date.day)
            values["hh"] = String(format: "%02d", date.hour)
            values["min"] = String(format: "%02d", date.minute)
            values["ss"] = String(format: "%02d", date.second)
            values["date"] = String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
            values["time"] = String(format: "%02d%02d%02d", date.hour, date.minute, date.second)
        }
        values["camera"] = Self.sanitizedWord(exif?.model ?? exif?.make ?? "unknown-camera")
        values["family"] = asset.mime?.family.rawValue ?? "other"
        if template.uses("sha8") {
            if asset.sourceSHA256 == nil, let path = asset.origin.path {
                asset.sourceSHA256 = try FileHashing.sha256(ofFileAt: path)
            }
            values["sha8"] = String((asset.sourceSHA256 ?? "00000000").prefix(8))
        }

        let rendered = template.render { values[$0] ?? "" }
        let name = Self.limited(Self.sanitizedFileName(rendered), to: lengthLimit)
        guard !name.isEmpty, name != ".", name != ".." else {
            return .reject(
                asset, Rejection(.custom, "rename.template: the template gives an empty name for \(asset.displayPath)"))
        }
        var fact: [String: JSONValue] = ["from": .string(original), "to": .string(name)]
        if let dateSource { fact["dateSource"] = .string(dateSource) }
        if let date { fact["dateTaken"] = .string(date.description) }
        asset.facts["rename"] = .object(fact)
        asset.fileName = name
        context.logger.debug("renamed", metadata: ["file": "\(asset.displayPath)", "to": "\(name)"])
        return .next(asset)
    }

    /// The source extension, lower-cased, or the detected type's preferred one when the source's does not fit.
    static func fileExtension(for asset: Asset) -> String {
        if let mime = asset.mime, !mime.extensionMatches || asset.sourceExtension.isEmpty,
            let preferred = mime.extensions.first
        {
            return preferred
        }
        return asset.sourceExtension.isEmpty ? "bin" : asset.sourceExtension
    }

    /// Letters, digits, `-` and `_` only (a camera model like `Canon EOS 5D Mark IV` becomes `Canon-EOS-5D-Mark-IV`).
    static func sanitizedWord(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) || scalar == "_" {
                result.unicodeScalars.append(scalar)
            } else if result.last != "-" {
                result.append("-")
            }
        }
        let trimmed = result.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return trimmed.isEmpty ? "unknown" : trimmed
    }

    /// No path separators, control characters or leading dots; runs of spaces collapsed.
    static func sanitizedFileName(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            if scalar == "/" || scalar == "\\" || CharacterSet.controlCharacters.contains(scalar) {
                result.append("_")
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        while result.contains("  ") { result = result.replacingOccurrences(of: "  ", with: " ") }
        result = result.trimmingCharacters(in: .whitespaces)
        while result.hasPrefix(".") { result.removeFirst() }
        return result
    }

    /// At most `limit` characters, cutting before the extension.
    static func limited(_ name: String, to limit: Int) -> String {
        guard name.count > limit else { return name }
        let ext = (name as NSString).pathExtension
        let suffix = ext.isEmpty || ext.count > 16 ? "" : "." + ext
        return String(name.prefix(limit - suffix.count)) + suffix
    }
}
