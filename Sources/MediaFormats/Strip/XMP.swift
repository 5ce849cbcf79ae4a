import Foundation
import Glibc

/// The few XMP facts stripping needs: orientation, GPS presence, and GPS removal for gps-only mode.
public enum XMP {
    /// `tiff:Orientation` as an attribute (`tiff:Orientation="6"`) or an element (`<tiff:Orientation>6<…`).
    public static func orientation(in text: String) -> Int? {
        for pattern in [
            #"tiff:Orientation\s*=\s*["']\s*([1-8])\s*["']"#, #"<tiff:Orientation>\s*([1-8])\s*</tiff:Orientation>"#,
        ] {
            if let range = text.range(of: pattern, options: .regularExpression) {
                let match = String(text[range])
                if let digit = match.last(where: { ("1"..."8").contains($0) }), let value = Int(String(digit)) {
                    return value
                }
            }
        }
        return nil
    }

    /// `true` when the packet carries GPS properties (`exif:GPSLatitude`, `exif:GPSLongitude`…).
    public static func hasGPS(_ text: String) -> Bool {
        // The namespace prefixes (exif, exifEX, drone-dji, Iptc4xmpExt) are optional, so any of the four names
        // anywhere is a hit. Plain substring search: an ICU regex here was a few percent of a strip run.
        var text = text
        return text.withUTF8 { haystack in
            ["GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSCoordinates"].contains { name in
                Self.contains(haystack, Array(name.utf8))
            }
        }
    }

    /// `true` when `needle` occurs in `haystack` (memchr for the first byte, then a compare).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else {
            return false
        }
        var offset = 0
        let last = haystack.count - needle.count
        while offset <= last, let hit = memchr(base + offset, Int32(first), last - offset + 1) {
            let position = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            if memcmp(base + position, needle, needle.count) == 0 { return true }
            offset = position + 1
        }
        return false
    }

    /// The packet without GPS properties: `exif:GPS…` attributes and elements are removed, the rest is untouched.
    public static func removingGPS(_ text: String) -> String {
        var result = text
        // Elements, including ones with nested content: <exif:GPSLatitude>…</exif:GPSLatitude>
        result = result.replacingOccurrences(
            of: #"<(exif:GPS[A-Za-z]*)\b[^>]*/>"#, with: "", options: .regularExpression)
        result = result.replacingOccurrences(
            of: #"<(exif:GPS[A-Za-z]*)\b[^>]*>[\s\S]*?</\1>"#, with: "", options: .regularExpression)
        // Attributes: exif:GPSLatitude="…"
        result = result.replacingOccurrences(
            of: #"\s+exif:GPS[A-Za-z]*\s*=\s*("[^"]*"|'[^']*')"#, with: "", options: .regularExpression)
        return result
    }

    /// The bytes of an ImageMagick "Raw profile type …" text chunk: a newline, the profile name, the length, then hex.
    public static func decodeRawProfile(_ text: String) -> [UInt8]? {
        let lines = text.split(whereSeparator: \.isNewline)
        guard lines.count >= 3, let length = Int(lines[1].trimmingCharacters(in: .whitespaces)), length > 0,
            length < 64 << 20
        else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        var high: UInt8?
        for line in lines.dropFirst(2) {
            for character in line.utf8 {
                let value: UInt8
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
                default: continue
                }
                if let first = high {
                    bytes.append(first << 4 | value)
                    high = nil
                    if bytes.count == length { return bytes }
                } else {
                    high = value
                }
            }
        }
        return bytes.isEmpty ? nil : bytes
    }

    /// The TIFF structure inside an EXIF payload: after an `Exif\0\0` header when there is one (JPEG APP1 and some
    /// WebP/PNG writers), or from the start.
    public static func tiffStructure(_ payload: [UInt8]) -> [UInt8] {
        let header: [UInt8] = Array("Exif".utf8) + [0, 0]
        if payload.starts(with: header) { return Array(payload.dropFirst(6)) }
        // ImageMagick's APP1 raw profiles and some writers put a single NUL after "Exif".
        if payload.starts(with: Array("Exif".utf8) + [0]) && payload.count > 5
            && (payload[5] == 0x49 || payload[5] == 0x4D)
        {
            return Array(payload.dropFirst(5))
        }
        return payload
    }
}
