import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

/// What `check` reads besides headers: compressed metadata, SVG markup, messages.
extension ValidateStage {
    /// The compressed part of a PNG zTXt, compressed iTXt or iCCP chunk.
    static func compressedPayload(kind: String, payload: [UInt8]) -> [UInt8]? {
        guard let keywordEnd = payload.firstIndex(of: 0) else { return nil }
        switch kind {
        case "ztxt", "icc":
            // keyword NUL, compression method (0), data
            return keywordEnd + 2 <= payload.count ? Array(payload[(keywordEnd + 2)...]) : nil
        case "itxt", "xmp":
            // keyword NUL, compression flag, method, language NUL, translated keyword NUL, text
            guard keywordEnd + 2 < payload.count, payload[keywordEnd + 1] == 1 else { return nil }
            var index = keywordEnd + 3
            for _ in 0..<2 {
                guard let end = payload[index...].firstIndex(of: 0) else { return nil }
                index = end + 1
            }
            return index <= payload.count ? Array(payload[index...]) : nil
        default:
            return nil
        }
    }

    static func metadataName(_ kind: String) -> String {
        switch kind {
        case "exif": return "EXIF"
        case "xmp", "xmp-extended": return "XMP"
        case "iptc": return "IPTC"
        case "comment": return "comment"
        case "ztxt": return "zTXt"
        case "itxt": return "iTXt"
        case "text": return "tEXt"
        case "icc": return "ICC profile"
        default: return kind
        }
    }

    /// What makes an SVG unsafe to store or serve (``SVGSafety``): DTD tricks (entity declarations, external DTDs,
    /// internal subsets), scripts, event handlers, `javascript:` URLs, embedded HTML, XInclude.
    func svgProblem(path: String) throws -> SVGSafety.Problem? {
        let head = try ReadableFile(path: path).readHead(4 << 20)
        // UTF-8 or UTF-16 with a byte-order mark; other 8-bit text (Latin-1) is read byte for byte, which leaves its
        // ASCII markup as it is. NUL bytes without a byte-order mark could hide markup: refused.
        guard
            let text = ContentChecks.decodeText(head, truncated: true)
                ?? (head.contains(0) ? nil : String(String.UnicodeScalarView(head.map { UnicodeScalar($0) })))
        else {
            return SVGSafety.Problem(
                kind: .declarations,
                description:
                    "text that is neither UTF-8, UTF-16 with a byte-order mark, nor 8-bit (an encoding that could hide markup from checks)"
            )
        }
        return SVGSafety.problem(in: text)
    }

    static func megapixels(_ pixels: Int) -> String {
        let value = Double(pixels) / 1_000_000
        return value >= 100 ? String(format: "%.0f MP", value) : String(format: "%.1f MP", value)
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \"\(key.stringValue)\" at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        @unknown default: return "\(error)"
        }
    }
}
