/// Streams a WebP without its `EXIF` and `XMP ` chunks, keeping `ICCP`, and fixes the VP8X flags and the RIFF length.
/// The orientation is kept as a minimal `EXIF` chunk in place of the first chunk that carried it.
enum WebPStripper {
    static let inspectLimit = 16 << 20

    static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> StripReport {
        var report = StripReport(format: .webp)
        let header = try input.read(12, "the RIFF header")
        guard header[0..<4].elementsEqual("RIFF".utf8), header[8..<12].elementsEqual("WEBP".utf8) else {
            throw FormatError.malformed("not a WebP (bad RIFF header)")
        }
        let declared = Int64(
            UInt32(header[4]) | UInt32(header[5]) << 8 | UInt32(header[6]) << 16 | UInt32(header[7]) << 24)
        let riffEnd = declared + 8
        try output.write(header)
        var flagsOffset: Int64?
        var originalFlags: UInt8 = 0
        var wroteEXIF = false
        var wroteXMP = false
        var hasVP8X = false
        var sawImage = false

        while input.offset + 8 <= riffEnd {
            guard try input.fill(8) >= 8 else {
                report.truncation = "file is shorter than its RIFF header says"
                break
            }
            let chunkHeader = try input.read(8, "a WebP chunk header")
            let fourCC = String(decoding: chunkHeader[0..<4], as: UTF8.self)
            let length = Int64(
                UInt32(chunkHeader[4]) | UInt32(chunkHeader[5]) << 8 | UInt32(chunkHeader[6]) << 16 | UInt32(
                    chunkHeader[7]) << 24)
            let padded = length + (length & 1)
            // A chunk that claims more than the RIFF container holds would carry the chunks after it (an EXIF, an
            // XMP) inside itself, unparsed: refused.
            if input.offset + padded > riffEnd {
                throw FormatError.malformed(
                    "chunk '\(fourCC)' at byte \(input.offset - 8) runs past the end of its RIFF container (\(length) bytes, \(riffEnd - input.offset) left)"
                )
            }
            switch fourCC {
            case "EXIF", "XMP ":
                let isEXIF = fourCC == "EXIF"
                guard length <= Int64(inspectLimit) else {
                    report.count(isEXIF ? "exif" : "xmp")
                    guard try input.skip(padded) == padded else {
                        report.truncation = "file ends inside the \(fourCC) chunk"
                        break
                    }
                    continue
                }
                let payload = try input.readUpTo(Int(length))
                let complete = try payload.count == Int(length) && input.skip(padded - length) == padded - length
                var orientation: Int?
                var bigEndian = true
                var rewritten: [UInt8]?
                if isEXIF {
                    let tiff = XMP.tiffStructure(payload)
                    let summary = editor.inspect(tiff: tiff)
                    JPEGStripper.record(summary, in: &report)
                    orientation = summary.orientation
                    bigEndian = summary.bigEndian
                    if policy.mode == .gpsOnly {
                        rewritten =
                            summary.hasGPSDirectory || !summary.readable
                            ? (summary.readable ? editor.removingGPS(tiff: tiff) : nil) : payload
                    }
                } else {
                    let text = String(decoding: payload, as: UTF8.self)
                    if XMP.hasGPS(text) { report.gpsFound = true }
                    orientation = XMP.orientation(in: text)
                    if policy.mode == .gpsOnly {
                        let cleaned = XMP.removingGPS(text)
                        rewritten = XMP.hasGPS(cleaned) ? nil : Array(cleaned.utf8)
                    }
                }
                if policy.mode == .gpsOnly, complete, let rewritten {
                    try output.write(chunk(fourCC, rewritten))
                    if rewritten != payload { report.rewritten[isEXIF ? "exif" : "xmp", default: 0] += 1 }
                    if isEXIF { wroteEXIF = true } else { wroteXMP = true }
                } else {
                    report.count(isEXIF ? "exif" : "xmp")
                    if policy.mode == .all, policy.keepOrientation, hasVP8X, !wroteEXIF, let orientation,
                        let tiff = editor.minimalEXIF(
                            orientation: orientation, copyright: nil, artist: nil, bigEndian: bigEndian)
                    {
                        try output.write(chunk("EXIF", tiff))
                        report.orientationKept = orientation
                        wroteEXIF = true
                    }
                }
                if !complete {
                    report.truncation = "file ends inside the \(fourCC) chunk"
                    break
                }
            case "ICCP" where !policy.keepICC:
                report.count("icc")
                guard try input.skip(padded) == padded else {
                    report.truncation = "file ends inside the ICCP chunk"
                    break
                }
            case "VP8X":
                let payload = try input.read(Int(padded), "the VP8X chunk")
                guard payload.count >= 10 else {
                    throw FormatError.malformed("VP8X chunk is \(payload.count) bytes, expected 10")
                }
                hasVP8X = true
                originalFlags = payload[0]
                flagsOffset = output.count + 8
                try output.write(chunkHeader + payload)
            default:
                if fourCC == "ICCP" { report.iccKept = true }
                if ["VP8 ", "VP8L", "ANMF", "ALPH"].contains(fourCC) { sawImage = true }
                try output.write(chunkHeader)
                guard try input.copy(padded, to: &output) == padded else {
                    report.truncation = "file ends inside the \(fourCC) chunk"
                    break
                }
            }
            if report.truncation != nil { break }
        }
        guard sawImage else { throw FormatError.truncated("WebP has no image data; nothing to keep") }
        report.trailingBytesRemoved = try input.drain()

        if let flagsOffset {
            // Flags byte: ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, animation 0x02.
            var flags = originalFlags
            flags = report.iccKept ? flags | 0x20 : flags & ~0x20
            flags = wroteEXIF ? flags | 0x08 : flags & ~0x08
            flags = wroteXMP ? flags | 0x04 : flags & ~0x04
            try output.patch(at: flagsOffset, [flags])
        }
        let size = UInt32(clamping: output.count - 8)
        try output.patch(
            at: 4, [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24)])
        return report
    }

    /// A RIFF chunk with its padding byte.
    static func chunk(_ fourCC: String, _ data: [UInt8]) -> [UInt8] {
        let length = UInt32(data.count)
        var bytes =
            Array(fourCC.utf8) + [
                UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
            ] + data
        if data.count % 2 == 1 { bytes.append(0) }
        return bytes
    }
}
