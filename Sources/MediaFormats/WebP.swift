/// WebP structure: a RIFF container of chunks (VP8, VP8L, VP8X, ICCP, EXIF, XMP, ANIM, ANMF…).
public enum WebP {
    static func inspect(_ source: some ByteSource, deep: Bool) throws -> ImageInfo {
        let header = try source.exactly(12, at: 0, "the RIFF header")
        let riffEnd = Int64(le32(header, 4)) + 8
        var offset: Int64 = 12
        var size: ImageSize?
        var blocks: [MetadataBlock] = []
        var frames = 0
        var truncation: String?
        if riffEnd > source.count { truncation = "file is shorter than its RIFF header says (\(riffEnd) bytes)" }
        let end = min(riffEnd, source.count)
        while offset + 8 <= end {
            let chunkHeader = try source.exactly(8, at: offset, "a WebP chunk header")
            let fourCC = String(decoding: chunkHeader[0..<4], as: UTF8.self)
            let length = Int64(le32(chunkHeader, 4))
            let payload = offset + 8
            switch fourCC {
            case "VP8X":
                let data = try source.exactly(10, at: payload, "the VP8X chunk")
                size = ImageSize(width: le24(data, 4) + 1, height: le24(data, 7) + 1)
            case "VP8 ":
                let data = try source.exactly(10, at: payload, "the VP8 frame header")
                guard data[3] == 0x9D, data[4] == 0x01, data[5] == 0x2A else {
                    throw FormatError.malformed("VP8 frame has no start code")
                }
                if size == nil { size = ImageSize(width: le16(data, 6) & 0x3FFF, height: le16(data, 8) & 0x3FFF) }
                frames += 1
            case "VP8L":
                let data = try source.exactly(5, at: payload, "the VP8L header")
                guard data[0] == 0x2F else { throw FormatError.malformed("VP8L chunk has no signature") }
                let bits = le32(data, 1)
                if size == nil {
                    size = ImageSize(width: Int(bits & 0x3FFF) + 1, height: Int((bits >> 14) & 0x3FFF) + 1)
                }
                frames += 1
            case "ANMF":
                frames += 1
            case "EXIF": blocks.append(MetadataBlock(kind: "exif", offset: payload, length: Int(length)))
            case "XMP ": blocks.append(MetadataBlock(kind: "xmp", offset: payload, length: Int(length)))
            case "ICCP": blocks.append(MetadataBlock(kind: "icc", offset: payload, length: Int(length)))
            default: break
            }
            offset = payload + length + (length & 1)
            if !deep, size != nil, fourCC != "VP8X" { break }
        }
        if offset > end && truncation == nil { truncation = "file ends inside a WebP chunk" }
        guard let size else {
            if let truncation { throw FormatError.truncated(truncation) }
            throw FormatError.malformed("WebP has no image chunk")
        }
        var info = ImageInfo(format: .webp, size: size)
        info.frames = max(frames, 1)
        info.metadataBlocks = blocks
        if deep {
            info.truncation = truncation
            info.structureEnd = min(riffEnd, source.count)
            info.trailingBytes = max(0, source.count - riffEnd)
        }
        return info
    }
}
