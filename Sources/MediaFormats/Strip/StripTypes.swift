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
        orientation: nil, copyright: nil, artist: nil, hasGPS: false, hasGPSDirectory: false, hasMakerNote: false,
        hasThumbnail: false,
        bigEndian: true, readable: false)

    /// Creates a summary.
    public init(
        orientation: Int?, copyright: String?, artist: String?, hasGPS: Bool, hasGPSDirectory: Bool, hasMakerNote: Bool,
        hasThumbnail: Bool,
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

/// The containers `strip.metadata` rewrites.
public enum MediaContainer: String, Sendable, Hashable, CaseIterable {
    case jpeg, png, webp, gif
    /// HEIF images and image sequences: HEIC, AVIF, HEIF.
    case heif
    /// ISO/QuickTime movies: MP4, MOV, M4V, M4A, 3GP/3G2.
    case movie

    /// The container a file starts like (its first 16 bytes or more), or `nil`. ISO base media files are
    /// recognised by a first box of a type they start with (`ftyp`, or `moov`/`mdat`/`wide`/`free`/`skip` in old
    /// QuickTime files); whether one is a HEIF image or a movie is known only from its boxes.
    public static func sniff(_ head: [UInt8]) -> MediaContainer? {
        switch ImageHeaders.sniff(head) {
        case .jpeg?: return .jpeg
        case .png?: return .png
        case .webp?: return .webp
        case .gif?: return .gif
        case .heif?: return .heif
        default: break
        }
        guard head.count >= 8 else { return nil }
        let size = be32(head, 0)
        let type = FourCC(head, at: 4)
        let starts: Set<FourCC> = [.ftyp, .moov, .mdat, .wide, .free, .skip]
        guard starts.contains(type), size == 0 || size == 1 || size >= 8 else { return nil }
        return .movie
    }
}

/// What a strip did, for the manifest.
public struct StripReport: Sendable, Hashable {
    /// The container format.
    public var format: MediaContainer
    /// The ISO major brand (`heic`, `avif`, `qt`, `isom`, `mp42`, `3gp4`…), for ISO files.
    public var brand: String?
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
    public init(format: MediaContainer) { self.format = format }

    mutating func count(_ kind: String) { removed[kind, default: 0] += 1 }
}

/// Why a file could not be stripped: a struct with an extensible ``Code`` (as swift-nio's `FileSystemError`), so new
/// reasons can be added without breaking code that switches over the codes it knows.
public struct StripError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of trouble.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unsupported, damaged
        }
        private let value: Value

        /// The format (or this variant of it) is not one the stripper handles.
        public static let unsupported = Code(value: .unsupported)
        /// The file is damaged in a way that leaves nothing to keep (see ``StripError/formatError``).
        public static let damaged = Code(value: .damaged)

        public var description: String { value.rawValue }
    }

    /// The kind of trouble.
    public var code: Code
    /// What happened, in words.
    public var message: String
    /// The parser's complaint, for ``Code/damaged``.
    public var formatError: FormatError?

    /// The format is not one the stripper handles.
    public static func unsupported(_ message: String) -> StripError {
        StripError(code: .unsupported, message: message, formatError: nil)
    }

    /// The file is damaged in a way that leaves nothing to keep.
    public static func damaged(_ error: FormatError) -> StripError {
        StripError(code: .damaged, message: error.description, formatError: error)
    }

    public var description: String { message }
}

/// Strips metadata from a file, dispatching on its signature.
public enum MetadataStripper {
    /// The containers a stream can be stripped from with ``strip(_:to:policy:editor:)``: their metadata is
    /// interleaved with small structures, and one pass in order does it.
    public static let streamedFormats: Set<MediaContainer> = [.jpeg, .png, .webp, .gif]
    /// The containers stripped from random-access bytes with ``plan(_:policy:editor:)``: their metadata sits in
    /// header boxes that may follow gigabytes of media data.
    public static let plannedFormats: Set<MediaContainer> = [.heif, .movie]

    /// Copies `input` to `output` without the metadata `policy` removes (JPEG, PNG, WebP, GIF).
    /// - Throws: ``StripError``.
    public static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> StripReport {
        let head = try input.peekHead(16)
        guard let format = MediaContainer.sniff(head) else {
            throw StripError.unsupported("not a format that can be stripped")
        }
        do {
            var report: StripReport
            switch format {
            case .jpeg: report = try JPEGStripper.strip(&input, to: &output, policy: policy, editor: editor)
            case .png: report = try PNGStripper.strip(&input, to: &output, policy: policy, editor: editor)
            case .webp: report = try WebPStripper.strip(&input, to: &output, policy: policy, editor: editor)
            case .gif: report = try GIFStripper.strip(&input, to: &output, policy: policy)
            case .heif, .movie:
                throw StripError.unsupported(
                    "\(format.rawValue) files are stripped from random-access bytes (plan(_:policy:editor:))")
            }
            report.bytesIn = input.offset
            report.bytesOut = output.count
            return report
        } catch let error as FormatError {
            throw StripError.damaged(error)
        }
    }

    /// Plans the stripped copy of a HEIF image or an ISO/QuickTime movie, reading only its header boxes; write it
    /// with ``SplicePlan/write(from:to:observe:checkpoint:)``.
    /// - Throws: ``StripError``.
    public static func plan(
        _ source: some ByteSource, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> (plan: SplicePlan, report: StripReport) {
        var (plan, report) = try ISOMediaStripper.plan(source, policy: policy, editor: editor)
        report.bytesIn = source.count
        report.bytesOut = plan.outputLength
        return (plan, report)
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
