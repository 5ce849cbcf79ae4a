/// The identifiers an iPhone writes to tie a Live Photo's still to its video, and a burst's photos to each other:
/// in a HEIC/HEIF or JPEG still, the Apple maker note's tag `0x0011` (exiftool: MediaGroupUUID, earlier
/// ContentIdentifier) and `0x000b` (BurstUUID); in a QuickTime movie, the `com.apple.quicktime.content.identifier`
/// key of `moov/meta`. `strip.metadata` removes all of them (the maker note goes with the EXIF, the key with the
/// movie's metadata); sources read them first, to pair the halves.
///
/// Reads stay bounded: the JPEG segments before the first scan, the HEIF `meta` box and its `Exif` item, the `moov`
/// box — each at most ``ISOMediaStripper/headerLimit``. A file that is none of these, or damaged, has no identifiers.
public enum AppleIdentifiers {
    /// What was found.
    public struct Found: Sendable, Hashable {
        /// The Live Photo identifier (a UUID string).
        public var contentIdentifier: String?
        /// The burst identifier (stills only).
        public var burstIdentifier: String?
    }

    /// Reads the identifiers of a still (HEIC/HEIF/JPEG) or a QuickTime/MP4 movie at `path`.
    /// - Throws: ``FormatError/io(_:)`` when the file cannot be opened or read.
    public static func read(fileAt path: String) throws -> Found {
        try read(FileBytes(path: path))
    }

    /// Reads the identifiers of a still or movie.
    public static func read(_ source: some ByteSource) throws -> Found {
        let head = try source.bytes(at: 0, count: 12)
        do {
            if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF {
                return try jpegExif(source).map(makerNote) ?? Found()
            }
            if head.count >= 8,
                FourCC(head, at: 4) == .ftyp || FourCC(head, at: 4) == FourCC("wide")
                    || FourCC(head, at: 4) == .mdat || FourCC(head, at: 4) == .moov
            {
                let boxes = try ISOMediaStripper.topLevelBoxes(source)
                if let moov = boxes.first(where: { $0.type == .moov }) {
                    return Found(contentIdentifier: try movieIdentifier(ISOMediaStripper.readWhole(moov, source)))
                }
                if let meta = boxes.first(where: { $0.type == .meta }) {
                    return try heifExif(ISOMediaStripper.readWhole(meta, source), in: source).map(makerNote) ?? Found()
                }
            }
        } catch let error as FormatError {
            if case .io = error { throw error }
        } catch let error as StripError {
            _ = error  // an oversized header: nothing read, nothing found
        }
        return Found()
    }

    // MARK: Stills

    /// The TIFF structure of a JPEG's `Exif` APP1 segment, if it has one before its first scan.
    static func jpegExif(_ source: some ByteSource) throws -> [UInt8]? {
        var offset: Int64 = 2
        while offset + 4 <= source.count {
            let header = try source.exactly(4, at: offset, "a JPEG marker")
            guard header[0] == 0xFF else { return nil }
            let marker = header[1]
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan, end of image
            let length = be16(header, 2)
            guard length >= 2 else { return nil }
            if marker == 0xE1, length > 8 {
                let payload = try source.exactly(length - 2, at: offset + 4, "an APP1 segment")
                if payload.starts(with: Array("Exif".utf8) + [0, 0]) { return Array(payload.dropFirst(6)) }
            }
            offset += 2 + Int64(length)
        }
        return nil
    }

    /// The TIFF structure of a HEIF's `Exif` item (its payload starts with the offset of the TIFF header).
    static func heifExif(_ meta: [UInt8], in source: some ByteSource) throws -> [UInt8]? {
        guard meta.count >= 12 else { return nil }
        let spans = try BoxSpan.parse(meta, in: 12..<meta.count, parent: "the meta box")
        guard let iinf = spans.first(where: { $0.type == FourCC("iinf") }),
            let iloc = spans.first(where: { $0.type == FourCC("iloc") })
        else { return nil }
        let infos = try HEIFItems.InfoList(meta, iinf)
        guard let exif = infos.entries.first(where: { $0.type == FourCC("Exif") }),
            let item = try HEIFItems.Locations(meta, iloc).items.first(where: { $0.id == exif.id }),
            item.constructionMethod == 0, item.dataReference == 0
        else { return nil }
        var bytes: [UInt8] = []
        for extent in item.extents {
            let start = item.baseOffset.addingReportingOverflow(extent.offset)
            guard !start.overflow, start.partialValue < UInt64(source.count), extent.length > 0,
                extent.length <= UInt64(HEIFStripper.itemReadLimit - bytes.count)
            else { return nil }
            bytes += try source.exactly(Int(extent.length), at: Int64(start.partialValue), "the Exif item")
        }
        guard bytes.count >= 4 else { return nil }
        let skip = Int(be32(bytes, 0))
        guard skip <= bytes.count - 4 else { return nil }
        return Array(bytes[(4 + skip)...])
    }

    /// The identifiers in the Apple maker note of a TIFF structure (IFD0 → Exif IFD → MakerNote `0x927c`).
    static func makerNote(_ tiff: [UInt8]) -> Found {
        guard let ifd0 = TIFFReader(tiff), let exifIFD = ifd0.entries(at: ifd0.firstIFD)?[0x8769]?.value,
            let makerNote = ifd0.entries(at: Int(exifIFD))?[0x927C],
            let note = ifd0.slice(makerNote)
        else { return Found() }
        // "Apple iOS\0", a version, "MM", then an IFD whose offsets count from the note's start.
        guard note.starts(with: Array("Apple iOS".utf8) + [0]), note.count > 16, note[12] == 0x4D, note[13] == 0x4D,
            let reader = TIFFReader(bigEndian: note)
        else { return Found() }
        let entries = reader.entries(at: 14) ?? [:]
        return Found(
            contentIdentifier: entries[0x0011].flatMap(reader.string),
            burstIdentifier: entries[0x000B].flatMap(reader.string))
    }

    // MARK: Movies

    /// The `com.apple.quicktime.content.identifier` value in `moov/meta` (an iPhone's place) or `moov/udta/meta`
    /// (where remuxing tools put QuickTime keys): keys + ilst.
    static func movieIdentifier(_ moov: [UInt8]) throws -> String? {
        guard moov.count >= 8 else { return nil }
        let children = try BoxSpan.parse(moov, in: 8..<moov.count, parent: "the moov box")
        var metas = children.filter { $0.type == .meta }
        for udta in children where udta.type == .udta {
            metas += try BoxSpan.parse(moov, in: udta.payload, parent: "the udta box").filter { $0.type == .meta }
        }
        for meta in metas {
            if let found = try identifier(inMeta: meta, of: moov) { return found }
        }
        return nil
    }

    static func identifier(inMeta meta: BoxSpan, of moov: [UInt8]) throws -> String? {
        let inner = try BoxSpan.parse(
            moov, in: MetadataKeys.childrenStart(moov, meta)..<meta.end, parent: "the meta box")
        guard let keys = inner.first(where: { $0.type == .keys }), let ilst = inner.first(where: { $0.type == .ilst })
        else { return nil }
        let wanted = Array("com.apple.quicktime.content.identifier".utf8)
        guard let index = try MetadataKeys.keyNames(moov, keys).firstIndex(of: wanted) else { return nil }
        for item in try BoxSpan.parse(moov, in: ilst.payload, parent: "the ilst box")
        where item.type.rawValue == UInt32(index + 1) {
            for data in try BoxSpan.parse(moov, in: item.payload, parent: "an ilst item")
            where data.type == FourCC("data") {
                // A well-known type (4 bytes: 0 and the type, 1 = UTF-8), a locale (4 bytes), the value.
                let value = data.payload.lowerBound + 8
                guard value <= data.end else { continue }
                let text = String(decoding: moov[value..<data.end], as: UTF8.self)
                return text.isEmpty ? nil : String(text.prefix(200))
            }
        }
        return nil
    }
}

/// Enough of TIFF to follow IFD pointers and read ASCII values, never trusting an offset or a count.
struct TIFFReader {
    struct Entry {
        var type: Int
        var count: Int
        /// The value itself when it fits in four bytes, else its offset.
        var value: UInt32
        /// Where the four value bytes are.
        var valueField: Int
    }

    let bytes: [UInt8]
    let little: Bool
    let firstIFD: Int

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 8, bytes[0] == bytes[1], bytes[0] == 0x49 || bytes[0] == 0x4D else { return nil }
        self.bytes = bytes
        little = bytes[0] == 0x49
        firstIFD = Int(little ? le32(bytes, 4) : be32(bytes, 4))
    }

    /// A big-endian structure with no TIFF header (an Apple maker note).
    init?(bigEndian bytes: [UInt8]) {
        self.bytes = bytes
        little = false
        firstIFD = 0
    }

    func u16(_ index: Int) -> Int { little ? le16(bytes, index) : be16(bytes, index) }
    func u32(_ index: Int) -> UInt32 { little ? le32(bytes, index) : be32(bytes, index) }

    /// The entries of the IFD at `offset`, by tag; `nil` when it lies outside the bytes.
    func entries(at offset: Int) -> [Int: Entry]? {
        guard offset >= 0, offset + 2 <= bytes.count else { return nil }
        let count = u16(offset)
        guard count <= 1000, offset + 2 + count * 12 <= bytes.count else { return nil }
        var entries: [Int: Entry] = [:]
        for index in 0..<count {
            let start = offset + 2 + index * 12
            entries[u16(start)] = Entry(
                type: u16(start + 2), count: Int(u32(start + 4)), value: u32(start + 8), valueField: start + 8)
        }
        return entries
    }

    /// The bytes of an entry's value (UNDEFINED or ASCII), inside the structure.
    func slice(_ entry: Entry) -> [UInt8]? {
        guard entry.count >= 0, entry.count <= bytes.count else { return nil }
        let start = entry.count <= 4 ? entry.valueField : Int(entry.value)
        guard start >= 0, start <= bytes.count - entry.count else { return nil }
        return Array(bytes[start..<(start + entry.count)])
    }

    /// An ASCII entry's text, without its terminating NULs.
    func string(_ entry: Entry) -> String? {
        guard entry.type == 2, let raw = slice(entry) else { return nil }
        let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        return text.isEmpty ? nil : text
    }
}
