/// Streams a JPEG without its metadata segments, copying the entropy-coded image data byte for byte.
///
/// Kept: APP0 JFIF, APP14 Adobe (CMYK/YCCK decoding needs it), APP2 ICC_PROFILE (all of its segments, in order),
/// and every non-metadata segment (DQT, DHT, SOFn, DRI, SOS…). Removed: APP1 Exif (GPS, maker notes, thumbnail),
/// APP1 XMP and extended XMP, APP13 Photoshop/IPTC, COM, other APPn, the MPF index, and everything after EOI
/// (MPF secondary images, appended archives). The orientation (and, on request, the copyright) is kept as a new,
/// minimal APP1 Exif written right after SOI (after APP0 JFIF when there is one).
///
/// In gps-only mode only location goes: the EXIF GPS IFD (the block is rewritten without it) and XMP `exif:GPS…`
/// properties; every other segment stays where it was.
enum JPEGStripper {
    struct Segment {
        var marker: UInt8
        var payload: [UInt8]
        var standalone: Bool { JPEG.isStandalone(marker) }

        var bytes: [UInt8] {
            if standalone { return [0xFF, marker] }
            let length = payload.count + 2
            return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
        }
    }

    /// The most header bytes held in memory before the image data; beyond this the file is refused.
    static let headerLimit = 32 << 20

    static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> StripReport {
        var report = StripReport(format: .jpeg)
        guard try input.read(2, "the JPEG start marker") == [0xFF, 0xD8] else {
            throw FormatError.malformed("not a JPEG (no start-of-image marker)")
        }

        var kept: [Segment] = []
        var buffered = 0
        var orientation: Int?
        var xmpOrientation: Int?
        var copyright: String?
        var artist: String?
        var bigEndian = true
        var sawFrame = false
        var startOfScan: Segment?

        header: while true {
            guard let marker = try nextMarker(&input) else {
                throw FormatError.truncated("file ends before the JPEG image data; nothing to keep")
            }
            if JPEG.isStandalone(marker) {
                if marker == 0xD9 {
                    throw FormatError.malformed("JPEG ends (EOI) before any image data")
                }
                kept.append(Segment(marker: marker, payload: []))
                continue
            }
            let lengthBytes = try input.read(2, "a JPEG segment length")
            let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
            guard length >= 2 else {
                throw FormatError.malformed("JPEG segment FF\(hex(marker)) has an invalid length \(length)")
            }
            let payload: [UInt8]
            do {
                payload = try input.read(length - 2, "the FF\(hex(marker)) segment")
            } catch FormatError.truncated(let text) {
                throw FormatError.truncated("\(text), before the image data; nothing to keep")
            }
            buffered += payload.count
            guard buffered <= headerLimit else {
                throw FormatError.malformed("more than \(headerLimit >> 20) MiB of JPEG header segments")
            }
            if JPEG.isStartOfFrame(marker) { sawFrame = true }
            if marker == 0xDA {
                guard sawFrame else { throw FormatError.malformed("JPEG scan starts before any frame header") }
                startOfScan = Segment(marker: marker, payload: payload)
                break header
            }
            let kind = JPEG.classify(marker: marker, payloadHead: Array(payload.prefix(40)))
            switch (kind, policy.mode) {
            case ("jfif", _), ("adobe", _):
                kept.append(Segment(marker: marker, payload: payload))
            case ("icc", _):
                if policy.keepICC {
                    kept.append(Segment(marker: marker, payload: payload))
                    report.iccKept = true
                } else {
                    report.count("icc")
                }
            case ("exif", .all):
                let summary = editor.inspect(tiff: XMP.tiffStructure(payload))
                record(summary, in: &report)
                if orientation == nil { orientation = summary.orientation }
                if copyright == nil { copyright = summary.copyright }
                if artist == nil { artist = summary.artist }
                if summary.readable { bigEndian = summary.bigEndian }
                report.count("exif")
            case ("exif", .gpsOnly):
                let tiff = XMP.tiffStructure(payload)
                let summary = editor.inspect(tiff: tiff)
                if summary.hasGPSDirectory || !summary.readable {
                    record(summary, in: &report)
                    if summary.readable, let rewritten = editor.removingGPS(tiff: tiff) {
                        kept.append(Segment(marker: marker, payload: Array("Exif".utf8) + [0, 0] + rewritten))
                        report.rewritten["exif", default: 0] += 1
                    } else {
                        // Fail closed: a block we cannot rewrite goes entirely.
                        report.count("exif")
                    }
                } else {
                    kept.append(Segment(marker: marker, payload: payload))
                }
            case ("xmp", .all), ("xmp-extended", .all):
                let text = String(decoding: payload, as: UTF8.self)
                if XMP.hasGPS(text) { report.gpsFound = true }
                if kind == "xmp", xmpOrientation == nil { xmpOrientation = XMP.orientation(in: text) }
                report.count("xmp")
            case ("xmp", .gpsOnly):
                let text = String(decoding: payload, as: UTF8.self)
                if XMP.hasGPS(text) {
                    report.gpsFound = true
                    let cleaned = XMP.removingGPS(text)
                    let bytes = Array(cleaned.utf8)
                    if bytes.count <= 65_533 && !XMP.hasGPS(cleaned) {
                        kept.append(Segment(marker: marker, payload: bytes))
                        report.rewritten["xmp", default: 0] += 1
                    } else {
                        report.count("xmp")
                    }
                } else {
                    kept.append(Segment(marker: marker, payload: payload))
                }
            case ("xmp-extended", .gpsOnly):
                // Extended XMP is a slice of a larger packet; GPS inside it cannot be cut out slice by slice.
                if XMP.hasGPS(String(decoding: payload, as: UTF8.self)) {
                    report.gpsFound = true
                    report.count("xmp-extended")
                } else {
                    kept.append(Segment(marker: marker, payload: payload))
                }
            case ("mpf", _):
                // The MPF index points at secondary images after EOI, which are dropped (they carry their own EXIF).
                report.count("mpf")
            case (_, .gpsOnly):
                kept.append(Segment(marker: marker, payload: payload))
            default:
                if (0xE0...0xEF).contains(marker) || marker == 0xFE {
                    report.count(kind)
                } else {
                    kept.append(Segment(marker: marker, payload: payload))
                }
            }
        }

        // Write the header: SOI, JFIF (which must come first), the minimal EXIF, then what was kept, in order.
        try output.write([0xFF, 0xD8])
        var rest = kept[...]
        if let first = rest.first, first.marker == 0xE0,
            JPEG.classify(marker: 0xE0, payloadHead: Array(first.payload.prefix(5))) == "jfif"
        {
            try output.write(first.bytes)
            rest = rest.dropFirst()
        }
        if policy.mode == .all {
            let keptOrientation = policy.keepOrientation ? (orientation ?? xmpOrientation) : nil
            let keptCopyright = policy.keepCopyright ? copyright : nil
            let keptArtist = policy.keepCopyright ? artist : nil
            if keptOrientation != nil || keptCopyright != nil || keptArtist != nil,
                let tiff = editor.minimalEXIF(
                    orientation: keptOrientation, copyright: keptCopyright, artist: keptArtist, bigEndian: bigEndian),
                tiff.count + 8 <= 65_535
            {
                try output.write(Segment(marker: 0xE1, payload: Array("Exif".utf8) + [0, 0] + tiff).bytes)
                report.orientationKept = keptOrientation
            }
        }
        for segment in rest { try output.write(segment.bytes) }

        guard let startOfScan else { throw FormatError.malformed("JPEG has no image data") }
        try output.write(startOfScan.bytes)
        try copyScans(&input, to: &output, policy: policy, report: &report)
        let trailing = try input.drain()
        report.trailingBytesRemoved = trailing
        if trailing > 0 && (report.removed["mpf"] ?? 0) > 0 {
            report.secondaryImagesDropped = max(1, report.secondaryImagesDropped)
        }
        return report
    }

    /// Copies entropy-coded data and the segments between progressive scans up to and including EOI.
    static func copyScans<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, report: inout StripReport
    ) throws {
        while true {
            guard try input.copyUntilFF(to: &output) else {
                report.truncation = "file ends inside the image data (no end-of-image marker)"
                return
            }
            guard let next = try input.peek(at: 1) else {
                // A lone 0xFF at the very end.
                try input.copy(1, to: &output)
                report.truncation = "file ends inside the image data (no end-of-image marker)"
                return
            }
            if next == 0x00 || (0xD0...0xD7).contains(next) {
                try input.copy(2, to: &output)
                continue
            }
            if next == 0xFF {
                // A fill byte; the marker follows.
                try input.copy(1, to: &output)
                continue
            }
            if next == 0xD9 {
                try input.copy(2, to: &output)
                return
            }
            // A segment between scans (DHT, DQT, DRI, SOS… in progressive files; rarely APPn or COM).
            let header = try input.read(4, "a JPEG segment between scans")
            let length = Int(header[2]) << 8 | Int(header[3])
            guard length >= 2 else {
                throw FormatError.malformed("JPEG segment FF\(hex(next)) has an invalid length \(length)")
            }
            let isMetadata = (0xE0...0xEF).contains(next) || next == 0xFE
            if isMetadata && policy.mode == .all {
                let payload = try input.readUpTo(length - 2)
                report.count(JPEG.classify(marker: next, payloadHead: Array(payload.prefix(40))))
                continue
            }
            try output.write(header)
            let copied = try input.copy(Int64(length - 2), to: &output)
            if copied < Int64(length - 2) {
                report.truncation = "file ends inside a segment between scans"
                return
            }
        }
    }

    /// The next marker, skipping fill bytes and (like libjpeg) extraneous bytes before it; `nil` at the end.
    static func nextMarker<R: ByteReader>(_ input: inout BufferedInput<R>) throws -> UInt8? {
        var skipped = 0
        while true {
            guard let byte = try input.peek() else { return nil }
            if byte == 0xFF {
                guard let marker = try input.peek(at: 1) else { return nil }
                if marker == 0xFF || marker == 0x00 {
                    try input.skip(1)
                    continue
                }
                try input.skip(2)
                return marker
            }
            try input.skip(1)
            skipped += 1
            if skipped > 65_536 { throw FormatError.malformed("more than 64 KiB of garbage between JPEG segments") }
        }
    }

    static func record(_ summary: EXIFSummary, in report: inout StripReport) {
        if summary.hasGPS { report.gpsFound = true }
        if summary.hasMakerNote { report.makerNoteFound = true }
        if summary.hasThumbnail { report.thumbnailFound = true }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
