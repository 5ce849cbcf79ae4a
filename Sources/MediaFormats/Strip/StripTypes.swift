/// What a strip keeps and removes.
public struct StripPolicy: Sendable, Hashable {
    /// How much to remove.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Remove all privacy metadata; keep only what `keep` names.
        case all
        /// Remove only location: the EXIF GPS IFD and XMP GPS properties. Everything else stays.
        case gpsOnly = "gps-only"
    }

    public var mode: Mode
    /// Keep the orientation (as a minimal EXIF holding only Orientation).
    public var keepOrientation: Bool
    /// Keep ICC colour profiles (JPEG APP2, PNG iCCP, WebP ICCP).
    public var keepICC: Bool
    /// Keep the EXIF Copyright (and Artist) in the minimal EXIF.
    public var keepCopyright: Bool

    /// Creates a policy.
    public init(mode: Mode = .all, keepOrientation: Bool = true, keepICC: Bool = true, keepCopyright: Bool = false) {
        self.mode = mode
        self.keepOrientation = keepOrientation
        self.keepICC = keepICC
        self.keepCopyright = keepCopyright
    }
}

/// What an EXIF block holds, as far as stripping cares.
public struct EXIFSummary: Sendable, Hashable {
    /// IFD0 Orientation (1…8), if present and valid.
    public var orientation: Int?
    /// IFD0 Copyright, if present.
    public var copyright: String?
    /// IFD0 Artist, if present.
    public var artist: String?
    /// `true` when the GPS IFD holds a latitude or longitude.
    public var hasGPS: Bool
    /// `true` when there is a GPS IFD at all.
    public var hasGPSDirectory: Bool
    /// `true` when the EXIF IFD holds a maker note.
    public var hasMakerNote: Bool
    /// `true` when IFD1 holds a thumbnail.
    public var hasThumbnail: Bool
    /// `true` when the block was big-endian ("MM").
    public var bigEndian: Bool
    /// `false` when the block could not be parsed (it is removed all the same).
    public var readable: Bool

    /// An empty, unreadable summary.
    public static let unreadable = EXIFSummary(
        orientation: nil, copyright: nil, artist: nil, hasGPS: false, hasGPSDirectory: false, hasMakerNote: false, hasThumbnail: false,
        bigEndian: true, readable: false)

    /// Creates a summary.
    public init(
        orientation: Int?, copyright: String?, artist: String?, hasGPS: Bool, hasGPSDirectory: Bool, hasMakerNote: Bool, hasThumbnail: Bool,
        bigEndian: Bool, readable: Bool
    ) {
        self.orientation = orientation
        self.copyright = copyright
        self.artist = artist
        self.hasGPS = hasGPS
        self.hasGPSDirectory = hasGPSDirectory
        self.hasMakerNote = hasMakerNote
        self.hasThumbnail = hasThumbnail
        self.bigEndian = bigEndian
        self.readable = readable
    }
}

/// The EXIF work stripping delegates to a TIFF/EXIF library (libexif in MediaIngest) and to zlib.
public protocol MetadataEditor {
    /// Reads an EXIF block. `tiff` is the TIFF structure (starting `II*\0` or `MM\0*`, no `Exif\0\0` header).
    func inspect(tiff: [UInt8]) -> EXIFSummary
    /// A minimal EXIF block (TIFF structure, no `Exif\0\0` header) holding only the given tags, or `nil` when there is
    /// nothing to write.
    func minimalEXIF(orientation: Int?, copyright: String?, artist: String?, bigEndian: Bool) -> [UInt8]?
    /// The same EXIF block without its GPS IFD (TIFF structure), or `nil` when it cannot be rewritten (the caller then
    /// drops the block entirely, failing closed).
    func removingGPS(tiff: [UInt8]) -> [UInt8]?
    /// zlib-inflates `data`, giving up (returning `nil`) beyond `cap` bytes or on invalid data.
    func inflate(_ data: [UInt8], cap: Int) -> [UInt8]?
}

/// What a strip did, for the manifest.
public struct StripReport: Sendable, Hashable {
    /// The container format.
    public var format: ImageFormat
    /// Removed blocks by kind (`exif`, `xmp`, `iptc`, `comment`, `app12`, `text`, `ztxt`, `itxt`, `time`…) and count.
    public var removed: [String: Int] = [:]
    /// Blocks rewritten in place (gps-only mode): kind and count.
    public var rewritten: [String: Int] = [:]
    /// `true` when any removed or rewritten block held GPS coordinates (EXIF GPS latitude/longitude or XMP exif:GPS…).
    public var gpsFound = false
    /// `true` when a removed EXIF block held a maker note.
    public var makerNoteFound = false
    /// `true` when a removed EXIF block held a thumbnail.
    public var thumbnailFound = false
    /// The orientation written into the minimal EXIF, if any.
    public var orientationKept: Int?
    /// `true` when an ICC profile is in the output.
    public var iccKept = false
    /// Bytes after the end of the image that were dropped (JPEG after EOI, PNG after IEND, WebP after the RIFF).
    public var trailingBytesRemoved: Int64 = 0
    /// MPF/MPO secondary images dropped with the trailing data (stereo pairs, Ultra HDR gain maps).
    public var secondaryImagesDropped = 0
    /// Set when the input ended before its structure did; the output holds what was there.
    public var truncation: String?
    /// Input and output sizes.
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0

    /// Creates an empty report for `format`.
    public init(format: ImageFormat) { self.format = format }

    mutating func count(_ kind: String) { removed[kind, default: 0] += 1 }
}

/// Why a file could not be stripped.
public enum StripError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The format is not one the stripper handles.
    case unsupported(String)
    /// The file is damaged in a way that leaves nothing to keep.
    case damaged(FormatError)

    public var description: String {
        switch self {
        case .unsupported(let text): return text
        case .damaged(let error): return error.description
        }
    }
}

/// Strips metadata from an image stream, dispatching on its signature.
public enum MetadataStripper {
    /// The formats `strip(_:to:policy:editor:)` handles.
    public static let supportedFormats: Set<ImageFormat> = [.jpeg, .png, .webp]

    /// Copies `input` to `output` without the metadata `policy` removes.
    /// - Throws: ``StripError``.
    public static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> StripReport {
        let head = try input.peekHead(16)
        guard let format = ImageHeaders.sniff(head) else { throw StripError.unsupported("not an image format that can be stripped") }
        do {
            var report: StripReport
            switch format {
            case .jpeg: report = try JPEGStripper.strip(&input, to: &output, policy: policy, editor: editor)
            case .png: report = try PNGStripper.strip(&input, to: &output, policy: policy, editor: editor)
            case .webp: report = try WebPStripper.strip(&input, to: &output, policy: policy, editor: editor)
            default: throw StripError.unsupported("stripping \(format.rawValue.uppercased()) files is not supported")
            }
            report.bytesIn = input.offset
            report.bytesOut = output.count
            return report
        } catch let error as FormatError {
            throw StripError.damaged(error)
        }
    }
}

extension BufferedInput {
    /// The first `count` bytes without consuming them.
    mutating func peekHead(_ count: Int) throws -> [UInt8] {
        var head: [UInt8] = []
        for index in 0..<count {
            guard let byte = try peek(at: index) else { break }
            head.append(byte)
        }
        return head
    }
}
