import CExif
import Foundation
import MediaFormats

/// A date and time as EXIF writes it (`2024:05:01 15:30:12`): the camera's local time, with the UTC offset when the
/// file records one (`OffsetTimeOriginal`, EXIF 2.31).
public struct EXIFDateTime: Sendable, Hashable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// `+02:00`, when recorded.
    public var utcOffset: String?

    /// Creates a value.
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, utcOffset: String? = nil) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.utcOffset = utcOffset
    }

    /// Parses EXIF's `YYYY:MM:DD HH:MM:SS` (also with `-` between date parts, as some writers use).
    /// - Returns: `nil` for blanks (`0000:00:00 00:00:00`, spaces) and impossible values.
    public init?(exif text: String) {
        let digits = text.trimmingCharacters(in: CharacterSet(charactersIn: " \0")).split(whereSeparator: {
            ":- T".contains($0)
        })
        guard digits.count >= 6 else { return nil }
        let numbers = digits.prefix(6).map { Int($0) }
        guard numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.map { $0! }
        guard (1800...9999).contains(values[0]), (1...12).contains(values[1]), (1...31).contains(values[2]),
            (0...23).contains(values[3]),
            (0...59).contains(values[4]), (0...60).contains(values[5])
        else { return nil }
        self.init(
            year: values[0], month: values[1], day: values[2], hour: values[3], minute: values[4], second: values[5])
    }

    /// The same fields, from a `Date` in a time zone (for files without an EXIF date).
    public init(_ date: Date, timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        self.init(
            year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0,
            minute: parts.minute ?? 0,
            second: parts.second ?? 0)
    }

    /// `2024-05-01T15:30:12` (plus the offset when known).
    public var description: String {
        String(format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second) + (utcOffset ?? "")
    }
}

/// Facts read from a file's EXIF with libexif, for stages that act on them before `strip.metadata` removes them.
public struct EXIFFacts: Sendable, Hashable {
    /// When the picture was taken: `DateTimeOriginal`, else `DateTimeDigitized`, else IFD0 `DateTime`.
    public var dateTaken: EXIFDateTime?
    /// Which tag ``dateTaken`` came from: `DateTimeOriginal`, `DateTimeDigitized` or `DateTime`.
    public var dateTakenTag: String?
    /// The orientation (1–8).
    public var orientation: Int?
    /// The camera maker and model.
    public var make: String?
    public var model: String?
}

/// Reads EXIF from JPEG (APP1), PNG (`eXIf`) and WebP (`EXIF`) files through libexif.
public enum EXIFReader {
    /// The EXIF facts of the file at `path`.
    /// - Returns: `nil` when the file is not a JPEG, PNG or WebP, or has no EXIF block libexif can read.
    /// - Throws: ``FormatError`` when the file cannot be opened.
    public static func facts(ofFileAt path: String) throws -> EXIFFacts? {
        let source = try FileBytes(path: path)
        let head = try source.bytes(at: 0, count: 64)
        guard let format = ImageHeaders.sniff(head), [.jpeg, .png, .webp].contains(format) else { return nil }
        // A JPEG's EXIF precedes its frame header, so the shallow walk sees it; PNG and WebP keep metadata in chunks
        // anywhere, so their (chunk-header-only) deep walk is needed. A malformed image may still carry readable EXIF.
        let info = try? ImageHeaders.inspect(source, deep: format != .jpeg)
        let blocks = info?.metadataBlocks ?? []
        if let block = blocks.first(where: { $0.kind == "exif" }), block.length > 8, block.length < 16 << 20 {
            return facts(tiff: XMP.tiffStructure(try source.bytes(at: block.offset, count: block.length)))
        }
        // ImageMagick writes a PNG's EXIF as hex in a "Raw profile type exif" text chunk.
        if format == .png {
            let chunkTypes = ["text": "tEXt", "ztxt": "zTXt", "itxt": "iTXt"]
            for block in blocks where block.length < 16 << 20 {
                guard let type = chunkTypes[block.kind] else { continue }
                let payload = try source.bytes(at: block.offset, count: block.length)
                guard
                    let (keyword, text) = PNGStripper.textContent(
                        type: type, payload: payload, editor: LibExifEditor()),
                    keyword == "Raw profile type exif" || keyword == "Raw profile type APP1",
                    let bytes = XMP.decodeRawProfile(text)
                else { continue }
                return facts(tiff: XMP.tiffStructure(bytes))
            }
        }
        return nil
    }

    /// The EXIF facts of a TIFF-structured EXIF block (without the `Exif\0\0` header).
    public static func facts(tiff: [UInt8]) -> EXIFFacts? {
        guard tiff.count >= 8, let handle = ExifDataHandle(tiff: tiff, forWriting: false) else { return nil }
        var facts = EXIFFacts()
        let candidates: [(ExifTag, ExifIfd, String, ExifTag?)] = [
            (EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_IFD_EXIF, "DateTimeOriginal", ExifTag(rawValue: 0x9011)),
            (EXIF_TAG_DATE_TIME_DIGITIZED, EXIF_IFD_EXIF, "DateTimeDigitized", ExifTag(rawValue: 0x9012)),
            (EXIF_TAG_DATE_TIME, EXIF_IFD_0, "DateTime", ExifTag(rawValue: 0x9010)),
        ]
        for (tag, ifd, name, offsetTag) in candidates {
            guard let text = handle.ascii(tag, in: ifd), var date = EXIFDateTime(exif: text) else { continue }
            if let offsetTag, let offset = handle.ascii(offsetTag, in: EXIF_IFD_EXIF),
                offset.range(of: #"^[+-]\d\d:\d\d$"#, options: .regularExpression) != nil
            {
                date.utcOffset = offset
            }
            facts.dateTaken = date
            facts.dateTakenTag = name
            break
        }
        facts.orientation = handle.short(EXIF_TAG_ORIENTATION, in: EXIF_IFD_0).flatMap {
            (1...8).contains($0) ? $0 : nil
        }
        facts.make = handle.ascii(EXIF_TAG_MAKE, in: EXIF_IFD_0)?.trimmingCharacters(in: .whitespaces)
        facts.model = handle.ascii(EXIF_TAG_MODEL, in: EXIF_IFD_0)?.trimmingCharacters(in: .whitespaces)
        return facts
    }
}
