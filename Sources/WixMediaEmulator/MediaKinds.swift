import MediaFormats

/// The emulator's view of file types: Wix's mediaType for a MIME type, the extension used in file ids, and a content
/// check that decides whether bytes fit the declared type.
enum MediaKinds {
    /// Wix `mediaType` for a MIME type.
    static func mediaType(for mime: String) -> String {
        let lowered = mime.lowercased()
        if lowered == "image/svg+xml" { return "VECTOR" }
        if lowered.hasPrefix("image/") { return "IMAGE" }
        if lowered.hasPrefix("video/") || lowered == "application/mxf" { return "VIDEO" }
        if lowered.hasPrefix("audio/") { return "AUDIO" }
        if lowered.hasPrefix("model/") { return "MODEL3D" }
        if [
            "application/zip", "application/x-rar", "application/vnd.rar", "application/x-tar", "application/gzip",
            "application/x-7z-compressed", "application/java-archive",
        ].contains(lowered) {
            return "ARCHIVE"
        }
        if lowered.hasPrefix("text/") || lowered.hasPrefix("application/pdf") || lowered.contains("officedocument")
            || lowered.contains("opendocument")
            || lowered.hasPrefix("application/vnd.ms-") || lowered == "application/msword"
            || lowered == "application/json" || lowered == "application/rtf"
            || lowered == "application/epub+zip" || lowered == "application/postscript"
        {
            return "DOCUMENT"
        }
        return "OTHER"
    }

    /// The extension file ids end with.
    static func fileExtension(mime: String, fileName: String?) -> String {
        let known: [String: String] = [
            "image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "image/heic": "heic",
            "image/heif": "heif",
            "image/avif": "avif", "image/tiff": "tiff", "image/bmp": "bmp", "image/svg+xml": "svg", "video/mp4": "mp4",
            "video/quicktime": "mov",
            "audio/mpeg": "mp3", "application/pdf": "pdf", "application/zip": "zip", "text/csv": "csv",
            "text/plain": "txt", "application/json": "json",
        ]
        if let ext = known[mime.lowercased()] { return ext }
        if let fileName, let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex {
            let ext = fileName[fileName.index(after: dot)...].lowercased().filter { $0.isLetter || $0.isNumber }
            if !ext.isEmpty && ext.count <= 8 { return String(ext) }
        }
        return "bin"
    }

    /// The MIME type a file name suggests (when a client sends application/octet-stream and no type is declared).
    static func mime(forFileName fileName: String?) -> String? {
        guard let fileName, let dot = fileName.lastIndex(of: ".") else { return nil }
        let ext = fileName[fileName.index(after: dot)...].lowercased()
        let table: [String: String] = [
            "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
            "heic": "image/heic",
            "heif": "image/heif", "avif": "image/avif", "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp",
            "svg": "image/svg+xml",
            "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
            "mp3": "audio/mpeg", "wav": "audio/wav",
            "pdf": "application/pdf", "zip": "application/zip", "csv": "text/csv", "txt": "text/plain",
            "json": "application/json",
        ]
        return table[ext]
    }

    /// The MIME type the first bytes say, for the formats the emulator recognises.
    static func sniff(_ head: [UInt8]) -> String? {
        if let format = ImageHeaders.sniff(head) {
            switch format {
            case .jpeg: return "image/jpeg"
            case .png: return "image/png"
            case .gif: return "image/gif"
            case .webp: return "image/webp"
            case .tiff: return "image/tiff"
            case .bmp: return "image/bmp"
            case .heif: return head.count >= 12 && head[8..<12].elementsEqual("avif".utf8) ? "image/avif" : "image/heic"
            case .svg: return "image/svg+xml"
            }
        }
        func starts(_ text: String, at offset: Int = 0) -> Bool {
            let bytes = Array(text.utf8)
            return head.count >= offset + bytes.count && head[offset..<(offset + bytes.count)].elementsEqual(bytes)
        }
        if starts("ftyp", at: 4) {
            return starts("qt  ", at: 8) ? "video/quicktime" : (starts("3gp", at: 8) ? "video/3gpp" : "video/mp4")
        }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
        if starts("ID3") || head.starts(with: [0xFF, 0xFB]) || head.starts(with: [0xFF, 0xF3]) { return "audio/mpeg" }
        if starts("RIFF") && starts("WAVE", at: 8) { return "audio/wav" }
        if starts("RIFF") && starts("AVI ", at: 8) { return "video/x-msvideo" }
        if starts("%PDF-") { return "application/pdf" }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return "application/zip"
        }
        if starts("<svg") || starts("<?xml") && String(decoding: head, as: UTF8.self).contains("<svg") {
            return "image/svg+xml"
        }
        return nil
    }

    /// `nil` when the bytes fit the declared type's family, else why not. Types the emulator cannot recognise
    /// (documents, text) are taken on trust.
    static func mismatch(declared: String, head: [UInt8]) -> String? {
        let declaredType = mediaType(for: declared)
        let sniffed = sniff(head)
        switch declaredType {
        case "IMAGE", "VECTOR", "VIDEO", "AUDIO":
            guard let sniffed else {
                return "the file's bytes are not \(declaredType.lowercased()) data (declared \(declared))"
            }
            if mediaType(for: sniffed) != declaredType && !(declaredType == "AUDIO" && sniffed.hasPrefix("video/mp4")) {
                return "the file's bytes are \(sniffed), not \(declared)"
            }
            return nil
        default:
            return nil
        }
    }
}
