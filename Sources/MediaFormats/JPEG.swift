import Foundation
import Glibc

/// JPEG structure: markers, segments and the entropy-coded scans between them.
public enum JPEG {
    /// Markers that carry no length field.
    static func isStandalone(_ marker: UInt8) -> Bool {
        marker == 0x01 || (0xD0...0xD9).contains(marker)
    }

    /// Start-of-frame markers (baseline, progressive, lossless, arithmetic…), which carry the image size.
    static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// Names a segment's content from its marker and the first bytes of its payload.
    public static func classify(marker: UInt8, payloadHead: [UInt8]) -> String {
        func starts(_ text: String) -> Bool {
            let prefix = Array(text.utf8)
            return payloadHead.count >= prefix.count && Array(payloadHead[0..<prefix.count]) == prefix
        }
        switch marker {
        case 0xE0: return starts("JFIF\0") ? "jfif" : (starts("JFXX\0") ? "jfxx" : "app0")
        case 0xE1:
            if starts("Exif\0") { return "exif" }
            if starts("http://ns.adobe.com/xap/1.0/\0") { return "xmp" }
            if starts("http://ns.adobe.com/xmp/extension/\0") { return "xmp-extended" }
            return "app1"
        case 0xE2:
            if starts("ICC_PROFILE\0") { return "icc" }
            if starts("MPF\0") { return "mpf" }
            return "app2"
        case 0xED: return starts("Photoshop 3.0\0") ? "iptc" : "app13"
        case 0xEE: return starts("Adobe") ? "adobe" : "app14"
        case 0xFE: return "comment"
        case 0xE3...0xEC, 0xEF: return String(format: "app%d", Int(marker - 0xE0))
        default: return String(format: "marker-%02X", marker)
        }
    }

    static func inspect(_ source: some ByteSource, deep: Bool) throws -> ImageInfo {
        var offset: Int64 = 2
        var size: ImageSize?
        var blocks: [MetadataBlock] = []
        var frames = 0
        while true {
            guard let (marker, markerOffset) = try nextMarker(source, from: offset) else {
                if let size {
                    var info = ImageInfo(format: .jpeg, size: size)
                    info.metadataBlocks = blocks
                    info.truncation = "file ends before the image data (no start of scan)"
                    return info
                }
                throw FormatError.truncated("JPEG ends before its frame header")
            }
            if isStandalone(marker) {
                offset = markerOffset + 2
                if marker == 0xD9 { break }
                continue
            }
            let lengthBytes = try source.exactly(2, at: markerOffset + 2, "a JPEG segment length")
            let length = be16(lengthBytes, 0)
            guard length >= 2 else {
                throw FormatError.malformed(
                    String(format: "JPEG segment FF%02X has an invalid length %d", marker, length))
            }
            let payloadOffset = markerOffset + 4
            if isStartOfFrame(marker) {
                let header = try source.exactly(5, at: payloadOffset, "the JPEG frame header")
                frames += 1
                if size == nil { size = ImageSize(width: be16(header, 3), height: be16(header, 1)) }
            } else if (0xE0...0xEF).contains(marker) || marker == 0xFE {
                let head = try source.bytes(at: payloadOffset, count: min(40, length - 2))
                blocks.append(
                    MetadataBlock(
                        kind: classify(marker: marker, payloadHead: head), offset: payloadOffset, length: length - 2))
            }
            offset = markerOffset + 2 + Int64(length)
            if marker == 0xDA {
                guard let size else { throw FormatError.malformed("JPEG scan starts before any frame header") }
                var info = ImageInfo(format: .jpeg, size: size)
                info.metadataBlocks = blocks
                info.frames = max(frames, 1)
                if offset > source.count {
                    info.truncation = "file ends inside the scan header"
                    return info
                }
                if deep {
                    switch try scanToEnd(source, from: offset) {
                    case .end(let endOffset):
                        info.structureEnd = endOffset
                        info.trailingBytes = source.count - endOffset
                    case .truncated:
                        info.truncation = "file ends inside the image data (no end-of-image marker)"
                    }
                }
                return info
            }
        }
        guard let size else { throw FormatError.malformed("JPEG has no frame header") }
        var info = ImageInfo(format: .jpeg, size: size)
        info.metadataBlocks = blocks
        info.truncation = "JPEG ends without image data"
        return info
    }

    /// The next marker at or after `offset` (skipping fill bytes), with the offset of its 0xFF.
    /// Returns `nil` at the end of the file. Extraneous bytes before a marker are skipped, as libjpeg does
    /// ("N extraneous bytes before marker"), up to 64 KiB; beyond that the structure is malformed.
    static func nextMarker(_ source: some ByteSource, from offset: Int64) throws -> (UInt8, Int64)? {
        var position = offset
        guard let first = try source.byte(at: position) else { return nil }
        if first != 0xFF {
            let window = try source.bytes(at: position, count: 65_536)
            var found: Int?
            var index = 0
            while index + 1 < window.count {
                if window[index] == 0xFF && window[index + 1] != 0x00 && window[index + 1] != 0xFF {
                    found = index
                    break
                }
                index += 1
            }
            guard let found else {
                if window.count < 65_536 { return nil }
                throw FormatError.malformed(
                    String(format: "expected a JPEG marker at byte %lld, found 0x%02X", position, first))
            }
            position += Int64(found)
        }
        while let byte = try source.byte(at: position + 1), byte == 0xFF { position += 1 }
        guard let marker = try source.byte(at: position + 1) else { return nil }
        return (marker, position)
    }

    enum ScanEnd {
        case end(Int64)
        case truncated
    }

    /// Scans entropy-coded data (and any further segments of progressive files) up to the end-of-image marker.
    static func scanToEnd(_ source: some ByteSource, from start: Int64) throws -> ScanEnd {
        var offset = start
        let block = 65_536
        while offset < source.count {
            let chunk = try source.bytes(at: offset, count: block)
            if chunk.isEmpty { break }
            var index = 0
            var advanced = false
            while index < chunk.count {
                // memchr: the entropy-coded data is most of the file, and a byte-by-byte search was a twentieth of
                // an end-to-end run (perf).
                let hit = chunk.withUnsafeBufferPointer { buffer -> Int? in
                    guard let base = buffer.baseAddress, let pointer = memchr(base + index, 0xFF, buffer.count - index)
                    else { return nil }
                    return UnsafeRawPointer(pointer) - UnsafeRawPointer(base)
                }
                guard let found = hit else {
                    index = chunk.count
                    break
                }
                // Need the byte after 0xFF; it may be in the next block.
                guard found + 1 < chunk.count else {
                    index = found
                    break
                }
                let marker = chunk[found + 1]
                if marker == 0x00 || marker == 0xFF || (0xD0...0xD7).contains(marker) {
                    // Stuffed byte, fill byte or restart marker: still inside the scan.
                    index = found + (marker == 0xFF ? 1 : 2)
                    continue
                }
                let markerOffset = offset + Int64(found)
                if marker == 0xD9 { return .end(markerOffset + 2) }
                if isStandalone(marker) {
                    index = found + 2
                    continue
                }
                // A segment between scans (DHT, SOS, DQT… in progressive files): skip it by its length.
                guard let lengthBytes = try? source.exactly(2, at: markerOffset + 2, "segment"),
                    be16(lengthBytes, 0) >= 2
                else {
                    return .truncated
                }
                offset = markerOffset + 2 + Int64(be16(lengthBytes, 0))
                advanced = true
                break
            }
            if !advanced {
                // Re-read from a lone trailing 0xFF so the marker after it is seen whole.
                offset += Int64(max(index, 1))
            }
        }
        return .truncated
    }
}
