/// Streams a PNG without its metadata chunks. Removed wherever they stand (before or after IDAT): eXIf, tEXt, zTXt,
/// iTXt (XMP included) and tIME. Kept untouched (same bytes, same CRCs): every other chunk, iCCP, sRGB, gAMA, cHRM
/// and cICP included. The orientation, read from eXIf, from XMP, or from an ImageMagick "Raw profile type exif" text
/// chunk, is kept as a minimal eXIf chunk written where the first chunk carrying it stood.
///
/// In gps-only mode only eXIf (rewritten without its GPS IFD) and XMP (without `exif:GPS…` properties) change.
public enum PNGStripper {
    static let textKinds: Set<String> = ["tEXt", "zTXt", "iTXt"]
    /// The most bytes of one metadata chunk read into memory to look for orientation or GPS; larger ones are skipped.
    static let inspectLimit = 4 << 20

    static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> StripReport {
        var report = StripReport(format: .png)
        let signature = try input.read(8, "the PNG signature")
        guard signature == PNG.signature else { throw FormatError.malformed("not a PNG (bad signature)") }
        try output.write(signature)
        var orientationWritten = false
        var first = true

        while true {
            guard try input.fill(8) >= 8 else {
                if try input.peek() == nil && !first {
                    report.truncation = "file ends before the IEND chunk"
                    return report
                }
                throw FormatError.truncated(
                    first ? "file ends inside the PNG header" : "file ends inside a PNG chunk header")
            }
            let header = try input.read(8, "a PNG chunk header")
            let length = Int64(
                UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3]))
            guard length <= 0x7FFF_FFFF else {
                throw FormatError.malformed("PNG chunk at byte \(input.offset - 8) claims \(length) bytes")
            }
            guard header[4..<8].allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw FormatError.malformed("PNG chunk at byte \(input.offset - 8) has an invalid type")
            }
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if first {
                guard type == "IHDR" else { throw FormatError.malformed("PNG does not start with an IHDR chunk") }
                first = false
            }
            let isMetadata =
                ["eXIf", "tIME"].contains(type) || textKinds.contains(type) || (type == "iCCP" && !policy.keepICC)
            if !isMetadata {
                if type == "iCCP" { report.iccKept = true }
                try output.write(header)
                let copied = try input.copy(length + 4, to: &output)
                if copied < length + 4 {
                    report.truncation = "file ends inside the \(type) chunk"
                    return report
                }
                if type == "IEND" {
                    report.trailingBytesRemoved = try input.drain()
                    return report
                }
                continue
            }

            // A metadata chunk: look inside when it is small enough, then drop, rewrite or replace it.
            let payload: [UInt8]?
            if length <= Int64(inspectLimit) {
                let bytes = try input.readUpTo(Int(length))
                guard bytes.count == Int(length) else {
                    report.truncation = "file ends inside the \(type) chunk"
                    report.count(kind(type, bytes))
                    return report
                }
                payload = bytes
            } else {
                guard try input.skip(length) == length else {
                    report.truncation = "file ends inside the \(type) chunk"
                    return report
                }
                payload = nil
            }
            guard try input.skip(4) == 4 else {
                report.truncation = "file ends inside the \(type) chunk's CRC"
                return report
            }
            let chunkKind = kind(type, payload ?? [])
            let facts =
                payload.map { inspect(type: type, kind: chunkKind, payload: $0, editor: editor) } ?? ChunkFacts()
            if facts.gps { report.gpsFound = true }
            if facts.makerNote { report.makerNoteFound = true }
            if facts.thumbnail { report.thumbnailFound = true }

            if policy.mode == .gpsOnly {
                if let payload, type == "eXIf", facts.gpsDirectory {
                    if let rewritten = editor.removingGPS(tiff: XMP.tiffStructure(payload)) {
                        try output.write(chunk("eXIf", rewritten))
                        report.rewritten["exif", default: 0] += 1
                    } else {
                        report.count("exif")
                    }
                } else if let payload, chunkKind == "xmp", facts.gps, let text = facts.text,
                    let prefixLength = xmpPrefixLength(payload)
                {
                    let cleaned = XMP.removingGPS(text)
                    if !XMP.hasGPS(cleaned) {
                        // Written uncompressed: compression flag and method set to 0.
                        var prefix = Array(payload[..<prefixLength])
                        if let keywordEnd = prefix.firstIndex(of: 0), keywordEnd + 2 < prefix.count {
                            prefix[keywordEnd + 1] = 0
                            prefix[keywordEnd + 2] = 0
                        }
                        try output.write(chunk("iTXt", prefix + Array(cleaned.utf8)))
                        report.rewritten["xmp", default: 0] += 1
                    } else {
                        report.count("xmp")
                    }
                } else if let payload, !facts.gps {
                    // Not location: kept as it was.
                    try output.write(chunk(type, payload))
                } else {
                    // Location we cannot cut out, or a chunk too large to look into: removed (fail closed).
                    report.count(chunkKind)
                }
                continue
            }

            report.count(chunkKind)
            if policy.keepOrientation, !orientationWritten, let orientation = facts.orientation,
                let tiff = editor.minimalEXIF(
                    orientation: orientation, copyright: nil, artist: nil, bigEndian: facts.bigEndian)
            {
                try output.write(chunk("eXIf", tiff))
                report.orientationKept = orientation
                orientationWritten = true
            }
        }
    }

    /// What a metadata chunk told us.
    struct ChunkFacts {
        var orientation: Int?
        var gps = false
        var gpsDirectory = false
        var makerNote = false
        var thumbnail = false
        var bigEndian = true
        var text: String?
    }

    static func kind(_ type: String, _ payload: [UInt8]) -> String {
        switch type {
        case "eXIf": return "exif"
        case "tIME": return "time"
        case "iCCP": return "icc"
        case "iTXt": return PNG.metadataKind(type: type, payloadHead: Array(payload.prefix(20))) ?? "itxt"
        case "zTXt": return "ztxt"
        default: return "text"
        }
    }

    static func inspect(type: String, kind: String, payload: [UInt8], editor: some MetadataEditor) -> ChunkFacts {
        var facts = ChunkFacts()
        switch type {
        case "eXIf":
            let summary = editor.inspect(tiff: XMP.tiffStructure(payload))
            facts.orientation = summary.orientation
            facts.gps = summary.hasGPS
            facts.gpsDirectory = summary.hasGPSDirectory || !summary.readable
            facts.makerNote = summary.hasMakerNote
            facts.thumbnail = summary.hasThumbnail
            facts.bigEndian = summary.bigEndian
        case "tEXt", "zTXt", "iTXt":
            guard let (keyword, text) = textContent(type: type, payload: payload, editor: editor) else { return facts }
            facts.text = text
            facts.gps = XMP.hasGPS(text)
            if keyword == "XML:com.adobe.xmp" || keyword == "Raw profile type xmp" {
                facts.orientation = XMP.orientation(in: text)
            } else if keyword == "Raw profile type exif" || keyword == "Raw profile type APP1",
                let bytes = XMP.decodeRawProfile(text)
            {
                let summary = editor.inspect(tiff: XMP.tiffStructure(bytes))
                facts.orientation = summary.orientation
                facts.gps = facts.gps || summary.hasGPS
                facts.makerNote = summary.hasMakerNote
                facts.bigEndian = summary.bigEndian
            }
        default:
            break
        }
        return facts
    }

    /// The keyword and (decompressed) text of a tEXt, zTXt or iTXt chunk.
    public static func textContent(type: String, payload: [UInt8], editor: some MetadataEditor) -> (String, String)? {
        guard let keywordEnd = payload.firstIndex(of: 0) else { return nil }
        let keyword = String(decoding: payload[..<keywordEnd], as: UTF8.self)
        switch type {
        case "tEXt":
            return (keyword, String(decoding: payload[(keywordEnd + 1)...], as: UTF8.self))
        case "zTXt":
            guard keywordEnd + 2 <= payload.count,
                let text = editor.inflate(Array(payload[(keywordEnd + 2)...]), cap: inspectLimit)
            else { return nil }
            return (keyword, String(decoding: text, as: UTF8.self))
        default:
            guard keywordEnd + 2 < payload.count else { return nil }
            let compressed = payload[keywordEnd + 1] == 1
            guard let prefix = xmpPrefixLength(payload) else { return nil }
            let body = Array(payload[prefix...])
            if compressed {
                guard let text = editor.inflate(body, cap: inspectLimit) else { return nil }
                return (keyword, String(decoding: text, as: UTF8.self))
            }
            return (keyword, String(decoding: body, as: UTF8.self))
        }
    }

    /// The length of an iTXt chunk's header (keyword, flags, language, translated keyword) before its text.
    static func xmpPrefixLength(_ payload: [UInt8]) -> Int? {
        guard let keywordEnd = payload.firstIndex(of: 0), keywordEnd + 3 <= payload.count else { return nil }
        var index = keywordEnd + 3
        for _ in 0..<2 {
            guard index <= payload.count, let end = payload[index...].firstIndex(of: 0) else { return nil }
            index = end + 1
        }
        return index
    }

    /// A complete chunk: length, type, data, CRC.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = CRC32.checksum(body)
        let length = UInt32(data.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    }
}
