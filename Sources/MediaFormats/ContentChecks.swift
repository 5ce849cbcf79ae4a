import Foundation

/// Light content checks for the cases libmagic is known to get wrong or leave vague: OOXML and OpenDocument vs a
/// plain zip (read from the zip's central directory), CSV and JSON vs text/plain, SVG vs text/xml, WebM and
/// Matroska vs application/octet-stream. Each check reads a bounded amount of the file.
public enum ContentChecks {
    // MARK: - ZIP containers

    /// The entry names in a zip file's central directory (at most `limit`), or `nil` when there is no valid one.
    public static func zipEntryNames(_ source: some ByteSource, limit: Int = 2000) throws -> [String]? {
        guard source.count >= 22 else { return nil }
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes (the comment is at most 65535 bytes).
        let tailLength = Int(min(source.count, 65_557))
        let tailStart = source.count - Int64(tailLength)
        let tail = try source.bytes(at: tailStart, count: tailLength)
        var eocd: Int?
        var index = tail.count - 22
        while index >= 0 {
            if tail[index] == 0x50 && tail[index + 1] == 0x4B && tail[index + 2] == 0x05 && tail[index + 3] == 0x06 {
                eocd = index
                break
            }
            index -= 1
        }
        guard let eocd else { return nil }
        let entryCount = le16(tail, eocd + 10)
        let directorySize = Int64(le32(tail, eocd + 12))
        let directoryOffset = Int64(le32(tail, eocd + 16))
        // Zip64 archives mark these fields 0xFFFF…; their names are still readable from the zip64 record, but a
        // directory-size sanity bound is enough for classification.
        guard directoryOffset + directorySize <= source.count, directorySize <= 8 << 20 else { return nil }
        let directory = try source.bytes(at: directoryOffset, count: Int(directorySize))
        var names: [String] = []
        var position = 0
        while position + 46 <= directory.count, names.count < min(limit, max(entryCount, 1) + 1000) {
            guard directory[position] == 0x50, directory[position + 1] == 0x4B, directory[position + 2] == 0x01,
                directory[position + 3] == 0x02
            else {
                break
            }
            let nameLength = le16(directory, position + 28)
            let extraLength = le16(directory, position + 30)
            let commentLength = le16(directory, position + 32)
            guard position + 46 + nameLength <= directory.count else { break }
            names.append(String(decoding: directory[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self))
            position += 46 + nameLength + extraLength + commentLength
        }
        return names
    }

    /// The Office or OpenDocument type of a zip container, from its entry names (and the `mimetype` entry of
    /// OpenDocument and EPUB files, which is stored uncompressed first).
    public static func zipDocumentType(_ source: some ByteSource) throws -> String? {
        guard let names = try zipEntryNames(source) else { return nil }
        let set = Set(names)
        if set.contains("[Content_Types].xml") {
            if names.contains(where: { $0.hasPrefix("word/") }) {
                return names.contains("word/glossary/document.xml") && !set.contains("word/document.xml")
                    ? "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
                    : "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            if names.contains(where: { $0.hasPrefix("xl/") }) {
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            if names.contains(where: { $0.hasPrefix("ppt/") }) {
                return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            if names.contains(where: { $0.hasPrefix("Documents/") || $0.hasPrefix("FixedDocSeq") }) {
                return "application/vnd.ms-xpsdocument"
            }
        }
        if names.first == "mimetype" {
            // The local header of the first entry is at offset 0; "mimetype" is stored, so its content follows the name.
            let header = try source.bytes(at: 0, count: 30 + 8 + 100)
            if header.count >= 38, header[0] == 0x50, header[1] == 0x4B {
                let nameLength = le16(header, 26)
                let extraLength = le16(header, 28)
                let start = 30 + nameLength + extraLength
                let size = Int(le32(header, 18))
                if start + size <= header.count, size > 0, size < 100 {
                    let text = String(decoding: header[start..<(start + size)], as: UTF8.self)
                    if text.hasPrefix("application/") { return text }
                }
            }
        }
        if set.contains("META-INF/MANIFEST.MF") && names.contains(where: { $0.hasSuffix(".class") }) {
            return "application/java-archive"
        }
        return nil
    }

    // MARK: - Text

    /// The text of `head` when it is UTF-8 or UTF-16 with a byte-order mark (BOM removed); `nil` for binary data.
    public static func decodeText(_ head: [UInt8], truncated: Bool) -> String? {
        if head.count >= 2 && head[0] == 0xFF && head[1] == 0xFE {
            return decodeUTF16(Array(head[2...]), littleEndian: true)
        }
        if head.count >= 2 && head[0] == 0xFE && head[1] == 0xFF {
            return decodeUTF16(Array(head[2...]), littleEndian: false)
        }
        var bytes = head
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.contains(0) { return nil }
        // A head cut in the middle of a multi-byte character is still text: drop up to 3 trailing bytes.
        for drop in 0...(truncated ? 3 : 0) where bytes.count >= drop {
            if let text = String(validating: bytes.dropLast(drop), as: UTF8.self) { return text }
        }
        return nil
    }

    static func decodeUTF16(_ bytes: [UInt8], littleEndian: Bool) -> String? {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = 0
        while index + 1 < bytes.count {
            units.append(
                littleEndian
                    ? UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
                    : UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// `true` when `text` looks like an SVG document (an `<svg` root element, optionally after a prolog).
    public static func isSVG(_ text: String) -> Bool {
        let lowered = text.prefix(4096).lowercased()
        guard let svg = lowered.range(of: "<svg") else { return false }
        // Nothing but a prolog, comments, a doctype or whitespace may come before the root element.
        let before = lowered[..<svg.lowerBound]
        let stripped = before.replacingOccurrences(of: #"<\?xml[^>]*\?>"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"<!--[\s\S]*?-->"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"<!doctype[^>\[]*(\[[\s\S]*?\]\s*)?>"#, with: "", options: .regularExpression)
        return stripped.allSatisfy(\.isWhitespace)
    }

    /// `true` when `text` is JSON: it parses when whole, or starts like a JSON object or array when cut off.
    public static func isJSON(_ text: String, complete: Bool) -> Bool {
        let trimmed = text.drop { $0.isWhitespace }
        guard let first = trimmed.first, first == "{" || first == "[" else { return false }
        if complete {
            return (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])) != nil
        }
        // A cut-off head: the second token must fit JSON (a string key, a value, or a closing bracket).
        let rest = trimmed.dropFirst().drop { $0.isWhitespace }
        guard let next = rest.first else { return true }
        return first == "{" ? (next == "\"" || next == "}") : "\"{[-0123456789tfn]".contains(next)
    }

    /// `true` when `text` looks like CSV (or TSV): at least two lines with the same number (≥ 2) of fields for one of
    /// `,`, `;`, tab, respecting double quotes. Returns the delimiter.
    public static func csvDelimiter(_ text: String, complete: Bool) -> Character? {
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).prefix(50).map(String.init)
        if !complete && lines.count > 1 { lines.removeLast() }
        guard lines.count >= 2 else { return nil }
        for delimiter in [",", "\t", ";"] as [Character] {
            let counts = lines.map { fieldCount($0, delimiter: delimiter) }
            if let first = counts.first, first >= 2, counts.allSatisfy({ $0 == first }) { return delimiter }
        }
        return nil
    }

    static func fieldCount(_ line: String, delimiter: Character) -> Int {
        var count = 1
        var quoted = false
        for character in line {
            if character == "\"" { quoted.toggle() } else if character == delimiter && !quoted { count += 1 }
        }
        return count
    }

    // MARK: - Matroska / WebM

    /// `video/webm` or `video/x-matroska` for an EBML file, from its DocType; `nil` otherwise.
    public static func matroskaType(_ head: [UInt8]) -> String? {
        guard head.count >= 4, head[0] == 0x1A, head[1] == 0x45, head[2] == 0xDF, head[3] == 0xA3 else { return nil }
        let window = head.prefix(256)
        if containsSequence(window, Array("webm".utf8)) { return "video/webm" }
        if containsSequence(window, Array("matroska".utf8)) { return "video/x-matroska" }
        return nil
    }

    // MARK: - Hostile content

    /// Signatures of content that should never hide inside or after an image: the first one found, or `nil`.
    /// Looks for server-side scripts, HTML scripts, and the headers of archives and executables.
    public static func hostileSignature(in bytes: some Collection<UInt8>, includingArchives: Bool) -> String? {
        let lowered = bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        let scripts: [(String, String)] = [
            ("<?php", "PHP code"), ("<?=", "PHP code"), ("<script", "a <script> element"),
            ("<%@", "server-side script"), ("<% ", "server-side script"), ("javascript:", "a javascript: URL"),
        ]
        for (needle, name) in scripts where containsSequence(lowered, Array(needle.utf8)) { return name }
        guard includingArchives else { return nil }
        let raw = Array(bytes)
        let binaries: [([UInt8], String)] = [
            ([0x50, 0x4B, 0x03, 0x04], "a ZIP archive"), ([0x50, 0x4B, 0x05, 0x06], "a ZIP archive"),
            (Array("Rar!\u{1A}\u{07}".utf8), "a RAR archive"),
            ([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], "a 7z archive"), ([0x7F, 0x45, 0x4C, 0x46], "an ELF executable"),
            (Array("%PDF-".utf8), "a PDF document"),
            (Array("<html".utf8), "an HTML document"),
        ]
        for (needle, name) in binaries where containsSequence(name == "an HTML document" ? lowered : raw, needle) {
            return name
        }
        return nil
    }

    static func containsSequence(_ haystack: some Collection<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        let array = Array(haystack)
        var index = 0
        let last = array.count - needle.count
        while index <= last {
            guard let found = array[index...last].firstIndex(of: first) else { return false }
            if array[found..<(found + needle.count)].elementsEqual(needle) { return true }
            index = found + 1
        }
        return false
    }
}
