import Foundation

/// Why an asset was turned away: a stable machine-readable code and one human line naming the limit and the value.
///
/// A rejection is a verdict about the file (too large, wrong type, unsupported format); the file will be
/// rejected again until it changes, so re-runs skip it. Transient trouble (a network error) is a failure
/// instead: a stage throws, and the ledger retries it later.
public struct Rejection: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The stable code, such as `too_large`.
    public var code: Code
    /// One line, e.g. `31.2 MB is over the 25MB limit for image/jpeg`.
    public var reason: String
    /// The stage kind that rejected the asset (filled in by the runner).
    public var stage: String?
    /// Extra structured detail for the manifest (`{"limit": 25000000, "size": 31200000}`).
    public var details: [String: JSONValue]

    /// Creates a rejection.
    public init(_ code: Code, _ reason: String, details: [String: JSONValue] = [:]) {
        self.code = code
        self.reason = reason
        self.details = details
    }

    public var description: String { "\(code): \(reason)" }

    /// A rejection code. Well-known codes are static members; stages may define their own with `Code("…")`.
    public struct Code: StableCode {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Larger than the size limit.
        public static let tooLarge: Code = "too_large"
        /// Smaller than the minimum size.
        public static let tooSmall: Code = "too_small"
        /// Zero bytes.
        public static let empty: Code = "empty"
        /// MIME type not allowed (or denied).
        public static let typeNotAllowed: Code = "type_not_allowed"
        /// The file's extension does not fit its content.
        public static let extensionMismatch: Code = "extension_mismatch"
        /// Width × height over the pixel limit (decompression-bomb guard).
        public static let tooManyPixels: Code = "too_many_pixels"
        /// Width or height over the limit.
        public static let tooWide: Code = "too_wide"
        /// Height over the limit.
        public static let tooTall: Code = "too_tall"
        /// The file ends before its format says it should.
        public static let truncated: Code = "truncated"
        /// The file could not be read.
        public static let unreadable: Code = "unreadable"
        /// The file's structure is invalid.
        public static let malformed: Code = "malformed"
        /// `strip.metadata` cannot strip this format.
        public static let stripUnsupported: Code = "strip_unsupported"
        /// A symbolic link that points outside the source root.
        public static let outsideRoot: Code = "outside_root"
        /// A device, FIFO or socket (directly, or through a link): never opened.
        public static let notRegularFile: Code = "not_regular_file"
        /// The target refused the file.
        public static let targetRejected: Code = "target_rejected"
        /// The target failed to process the file.
        public static let processingFailed: Code = "processing_failed"
        /// A custom stage or an external command rejected the file.
        public static let custom: Code = "rejected"
        /// An archive, executable or document is appended to an image (a polyglot file).
        public static let polyglot: Code = "polyglot"
        /// Script code hides in metadata, or an SVG carries scripts.
        public static let embeddedCode: Code = "embedded_code"
        /// An SVG declares entities, names an external DTD, uses XInclude or an encoding that hides markup (XXE, entity
        /// expansion).
        public static let unsafeSVG: Code = "unsafe_svg"
        /// Compressed metadata inflates to an unreasonable size.
        public static let metadataBomb: Code = "metadata_bomb"
        /// A sidecar (XMP, AAE, Takeout JSON) with no media file to pair with: reported, never uploaded.
        public static let orphanSidecar: Code = "orphan_sidecar"
        /// A sidecar larger than the source's `sidecarMaxBytes`: never read, never uploaded.
        public static let sidecarTooLarge: Code = "sidecar_too_large"
        /// A sidecar that is not what its name says (not JSON, not XML, not a property list): never uploaded.
        public static let sidecarMalformed: Code = "sidecar_malformed"
    }
}

/// What a stage decided about one asset.
public enum StageOutcome: Sendable {
    /// Pass the (possibly changed) asset to the next stage.
    case next(Asset)
    /// Stop here: the asset is rejected for the given reason.
    case reject(Asset, Rejection)

    /// Convenience for `.next(asset)`.
    public static func `continue`(_ asset: Asset) -> StageOutcome { .next(asset) }
}

/// What rejection and failure codes share (``Rejection/Code``, ``AssetFailure/Code``): a stable `lower_snake_case`
/// string, written as a literal or `Code("…")`, shown and encoded as that string (the standard library's `Codable`
/// for a `RawRepresentable` of `String`).
public protocol StableCode: Sendable, Hashable, Codable, RawRepresentable<String>, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    init(rawValue: String)
}

extension StableCode {
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
}
