/// PNG structure: the signature and a sequence of length-type-data-CRC chunks.
public enum PNG {
    /// The 8-byte PNG signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Names a chunk's metadata kind, or `nil` for chunks that are not metadata.
    public static func metadataKind(type: String, payloadHead: [UInt8]) -> String? {
        switch type {
        case "tEXt": return "text"
        case "zTXt": return "ztxt"
        case "iTXt":
            let keyword = Array("XML:com.adobe.xmp".utf8)
            return payloadHead.count >= keyword.count && Array(payloadHead[0..<keyword.count]) == keyword
                ? "xmp" : "itxt"
        case "eXIf": return "exif"
        case "iCCP": return "icc"
        case "tIME": return "time"
        default: return nil
        }
    }

    static func inspect(_ source: some ByteSource, deep: Bool) throws -> ImageInfo {
        let header = try source.exactly(33, at: 0, "the PNG header")
        guard header[12..<16].elementsEqual("IHDR".utf8) else {
            throw FormatError.malformed("PNG does not start with an IHDR chunk")
        }
        guard be32(header, 8) == 13 else {
            throw FormatError.malformed("PNG IHDR chunk has length \(be32(header, 8)), expected 13")
        }
        let width = Int(be32(header, 16))
        let height = Int(be32(header, 20))
        var info = ImageInfo(format: .png, size: ImageSize(width: width, height: height))
        guard deep else { return info }
        var offset: Int64 = 8
        var extent = info.size
        while true {
            guard offset + 8 <= source.count else {
                info.truncation = "file ends before the IEND chunk"
                return info
            }
            let chunkHeader = try source.exactly(8, at: offset, "a PNG chunk header")
            let length = Int64(be32(chunkHeader, 0))
            guard length <= 0x7FFF_FFFF else {
                throw FormatError.malformed("PNG chunk at byte \(offset) claims \(length) bytes")
            }
            let type = String(decoding: chunkHeader[4..<8], as: UTF8.self)
            guard chunkHeader[4..<8].allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw FormatError.malformed("PNG chunk at byte \(offset) has an invalid type")
            }
            let end = offset + 12 + length
            guard end <= source.count else {
                info.truncation = "file ends inside the \(type) chunk"
                return info
            }
            let payloadOffset = offset + 8
            if let kind = metadataKind(
                type: type, payloadHead: try source.bytes(at: payloadOffset, count: Int(min(length, 20))))
            {
                info.metadataBlocks.append(MetadataBlock(kind: kind, offset: payloadOffset, length: Int(length)))
            }
            if type == "acTL", length >= 8 {
                let control = try source.exactly(8, at: payloadOffset, "the acTL chunk")
                info.frames = max(1, Int(be32(control, 0)))
            } else if type == "fcTL", length >= 20 {
                let control = try source.exactly(20, at: payloadOffset, "an fcTL chunk")
                let frameRight = Int(be32(control, 12)) + Int(be32(control, 4))
                let frameBottom = Int(be32(control, 16)) + Int(be32(control, 8))
                extent = ImageSize(width: max(extent.width, frameRight), height: max(extent.height, frameBottom))
            }
            offset = end
            if type == "IEND" {
                info.structureEnd = end
                info.trailingBytes = source.count - end
                if extent != info.size { info.extent = extent }
                return info
            }
        }
    }
}
