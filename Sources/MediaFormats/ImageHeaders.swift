/// Image container formats MediaFormats can read headers of.
public enum ImageFormat: String, Sendable, Hashable, CaseIterable {
    case jpeg, png, gif, webp, tiff, bmp, heif, svg
}

/// Width and height in pixels: what a header read finds, and what an asset carries (`PixelSize` in the core).
public struct ImageSize: Sendable, Hashable, Codable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    /// Creates a size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// `width × height`, saturating.
    public var pixels: Int {
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return overflow ? Int.max : product
    }

    public var description: String { "\(width)x\(height)" }
}

/// What a header read found out about an image, without decoding a pixel.
public struct ImageInfo: Sendable, Hashable {
    /// The container format.
    public var format: ImageFormat
    /// The image's size (the primary image, or the canvas).
    public var size: ImageSize
    /// The largest area any frame or page claims, when it exceeds ``size`` (a GIF frame placed at 65535,65535
    /// claims a 65635×65635 canvas: decoders that honour it allocate gigapixels).
    public var extent: ImageSize?
    /// Number of frames or pages found.
    public var frames: Int
    /// Set by a deep inspection when the file ends before its structure does (no JPEG EOI, no PNG IEND…).
    public var truncation: String?
    /// Bytes after the end of the image structure (JPEG after EOI, PNG after IEND).
    public var trailingBytes: Int64
    /// Where the image structure ends.
    public var structureEnd: Int64?
    /// Metadata blocks seen (JPEG APP1/Exif, PNG zTXt…), for checks on hostile metadata.
    public var metadataBlocks: [MetadataBlock]

    /// The size to check pixel limits against: the larger of ``size`` and ``extent``.
    public var effectiveSize: ImageSize {
        guard let extent, extent.pixels > size.pixels else { return size }
        return extent
    }

    init(format: ImageFormat, size: ImageSize) {
        self.format = format
        self.size = size
        self.frames = 1
        self.trailingBytes = 0
        self.metadataBlocks = []
    }
}

/// A metadata block found while walking a container: where it is and what kind it is.
public struct MetadataBlock: Sendable, Hashable {
    /// `exif`, `xmp`, `iptc`, `comment`, `icc`, `text`, `ztxt`, `itxt`…
    public var kind: String
    /// Offset of the block's payload in the file.
    public var offset: Int64
    /// Payload length.
    public var length: Int

    /// Creates a block description.
    public init(kind: String, offset: Int64, length: Int) {
        self.kind = kind
        self.offset = offset
        self.length = length
    }
}

/// Reads image dimensions (and, deeply, structural integrity) from headers, without decoding pixels.
public enum ImageHeaders {
    /// The image format a file starts like, or `nil`.
    public static func sniff(_ head: [UInt8]) -> ImageFormat? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + prefix.count && Array(head[offset..<(offset + prefix.count)]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) || starts([0x49, 0x49, 0x2B, 0x00])
            || starts([0x4D, 0x4D, 0x00, 0x2B])
        {
            return .tiff
        }
        if starts(Array("BM".utf8)) && head.count >= 26 { return .bmp }
        if starts(Array("ftyp".utf8), at: 4) {
            let brands = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis", "mif2"].map {
                Array($0.utf8)
            }
            if head.count >= 12, brands.contains(Array(head[8..<12])) { return .heif }
            // compatible brands
            let end = min(head.count, Int(be32(head, 0)))
            var index = 16
            while index + 4 <= end {
                if brands.contains(Array(head[index..<(index + 4)])) { return .heif }
                index += 4
            }
        }
        return nil
    }

    /// Reads an image's header.
    /// - Parameters:
    ///   - source: the bytes.
    ///   - deep: also walk the whole structure: truncation, trailing bytes, every frame's extent, metadata blocks.
    ///     A deep JPEG read scans the entropy-coded data for its end (it reads the whole file, in blocks).
    /// - Returns: `nil` when the bytes are not an image format MediaFormats reads (SVG included: it has no pixel size).
    /// - Throws: ``FormatError`` when the header is truncated, malformed or loops.
    public static func inspect(_ source: some ByteSource, deep: Bool = false) throws -> ImageInfo? {
        let head = try source.bytes(at: 0, count: 64)
        guard let format = sniff(head) else { return nil }
        switch format {
        case .jpeg: return try JPEG.inspect(source, deep: deep)
        case .png: return try PNG.inspect(source, deep: deep)
        case .gif: return try GIF.inspect(source, deep: deep)
        case .webp: return try WebP.inspect(source, deep: deep)
        case .tiff: return try TIFF.inspect(source, deep: deep)
        case .bmp: return try BMP.inspect(source)
        case .heif: return try ISOBMFF.inspect(source)
        case .svg: return nil
        }
    }

    /// The pixel size of the image in a file, or `nil` when it is not an image format MediaFormats reads.
    /// - Throws: ``FormatError``.
    public static func dimensions(ofFileAt path: String) throws -> ImageSize? {
        try inspect(FileBytes(path: path))?.size
    }
}
