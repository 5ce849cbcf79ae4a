import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

/// `validate`: accepts or rejects each file against size, type, extension, dimension and structure rules, with a
/// stable code and one line naming the limit and the value.
///
/// Image dimensions come from headers (JPEG SOF, PNG IHDR, GIF frames, WebP VP8/VP8L/VP8X, TIFF, BMP, HEIF `ispe`);
/// no pixel is decoded, so a decompression bomb costs a header read. With `profile: "wix"` the Wix per-type limits
/// apply (a data table; options override it).
public struct ValidateStage: Stage, StageDefinition {
    public static let kind = "validate"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(.empty, "zero bytes"),
        .rejection(.tooSmall, "under `minBytes`"),
        .rejection(.tooLarge, "over `maxBytes` or the profile's limit for the type"),
        .rejection(.typeNotAllowed, "the MIME type is not allowed, or denied"),
        .rejection(.extensionMismatch, "the extension does not fit the content"),
        .rejection(.tooManyPixels, "width × height over the limit, read from headers (a decompression bomb)"),
        .rejection(.tooWide, "width over the limit"),
        .rejection(.tooTall, "height over the limit"),
        .truncated, .malformed,
        .rejection(
            .polyglot,
            "an archive or executable appended — in the source file too when a stage that rewrites the bytes ran first"),
        .rejection(.embeddedCode, "script code in metadata or an SVG"),
        .rejection(.metadataBomb, "text metadata that inflates without bound"),
        .rejection(
            .unsafeSVG,
            "an SVG or XML file with entity declarations, an external DTD, an internal subset, XInclude or a hiding encoding"
        ),
    ]
    public static let phase = StagePhase.validate
    /// It judges the type `detect.mime` found (one verdict per file, from the run's one set of libmagic handles).
    public static let requiredEarlierPhases: [StagePhase] = [.detect]
    public static let summary =
        "Reject files by size, MIME type (allow/deny), extension mismatch, pixel limits, structure (truncation, polyglots, loops), embedded code and metadata bombs; optional Wix profile and quarantine."

    /// Named limit tables.
    public enum Profile: String, OptionEnum {
        case none
        case wix
    }

    /// What quarantine does with rejected files.
    public enum QuarantineMode: String, OptionEnum {
        case copy
        case move
    }

    static let maxBytes = StageOption<ByteSize?>(
        "maxBytes", doc: "Reject files larger than this (overrides the profile's per-type limit).")
    static let minBytes = StageOption<ByteSize?>(
        "minBytes", doc: "Reject files smaller than this. Empty files are always rejected.")
    static let allow = StageOption<[MIMEPattern]>(
        "allow", default: [], doc: "Accept only these MIME types (wildcards like image/*); empty accepts all.")
    static let deny = StageOption<[MIMEPattern]>("deny", default: [], doc: "Reject these MIME types (wins over allow).")
    static let rejectExtensionMismatch = StageOption<Bool>(
        "rejectExtensionMismatch", default: true,
        doc: "Reject files whose extension belongs to another type than their content (a script named photo.jpg).")
    static let maxWidth = StageOption<Int?>("maxWidth", doc: "Reject images wider than this many pixels.")
    static let maxHeight = StageOption<Int?>("maxHeight", doc: "Reject images taller than this many pixels.")
    static let maxPixels = StageOption<PixelCount?>(
        "maxPixels",
        doc:
            "Reject images with more pixels than this (e.g. 100000000 or \"100MP\"); frame extents count (decompression bombs)."
    )
    static let profile = StageOption<Profile>(
        "profile", default: .none,
        doc: "\"wix\" applies the Wix Media Manager's per-type size limits and accepted types.")
    static let profileFile = StageOption<PathOption?>(
        "profileFile", doc: "A limits table in the profile JSON format, used instead of a built-in profile.")
    static let checkStructure = StageOption<Bool>(
        "checkStructure", default: true,
        doc: "Reject truncated images, images with archives or executables appended (polyglots) and looping structures."
    )
    static let rejectEmbeddedCode = StageOption<Bool>(
        "rejectEmbeddedCode", default: true,
        doc:
            "Reject images whose metadata holds PHP/script code, and SVGs with scripts, event handlers or DTD tricks (entity declarations, external DTDs, XInclude)."
    )
    static let maxTextMetadata = StageOption<ByteSize?>(
        "maxTextMetadata", default: ByteSize(1 << 20),
        doc:
            "Reject files whose compressed text metadata (PNG zTXt/iTXt/iCCP) inflates beyond this; null turns the check off."
    )
    static let quarantine = StageOption<PathOption?>(
        "quarantine", doc: "Copy rejected files here (keeping their relative path) with a .reason.json beside each.")
    static let quarantineMode = StageOption<QuarantineMode>(
        "quarantineMode", default: .copy,
        doc:
            "\"copy\" (default) leaves the source in place (a reflink or hard link when the file system allows, else a copy that keeps holes); \"move\" moves it into quarantine."
    )
    static let quarantineMaxBytes = StageOption<ByteSize?>(
        "quarantineMaxBytes", default: ByteSize(1 << 30),
        doc:
            "The largest file quarantine copies byte for byte when it cannot reflink, hard-link or move it; larger ones get only their .reason.json. null: no limit."
    )
    public static let options = [
        maxBytes.spec, minBytes.spec, allow.spec, deny.spec, rejectExtensionMismatch.spec, maxWidth.spec,
        maxHeight.spec, maxPixels.spec,
        profile.spec, profileFile.spec, checkStructure.spec, rejectEmbeddedCode.spec, maxTextMetadata.spec,
        quarantine.spec, quarantineMode.spec,
        quarantineMaxBytes.spec,
    ]

    /// The rules, after options and profile are combined.
    public struct Rules: Sendable {
        public var maxBytes: ByteSize?
        public var minBytes: ByteSize?
        public var allow: [MIMEPattern] = []
        public var deny: [MIMEPattern] = []
        public var rejectExtensionMismatch = true
        public var maxWidth: Int?
        public var maxHeight: Int?
        public var maxPixels: Int?
        public var profile: LimitProfile?
        public var checkStructure = true
        public var rejectEmbeddedCode = true
        public var maxTextMetadata: ByteSize? = ByteSize(1 << 20)
        public var quarantine: String?
        public var quarantineMode: QuarantineMode = .copy
        public var quarantineMaxBytes: ByteSize? = ByteSize(1 << 30)

        /// Rules with every check at its default and no limits.
        public init() {}
    }

    /// The rules in force.
    public let rules: Rules

    public init(options: OptionValues, context: StageBuildContext) throws {
        var rules = Rules()
        rules.maxBytes = try options[Self.maxBytes]
        rules.minBytes = try options[Self.minBytes]
        rules.allow = try options[Self.allow]
        rules.deny = try options[Self.deny]
        rules.rejectExtensionMismatch = try options[Self.rejectExtensionMismatch]
        rules.maxWidth = try options[Self.maxWidth]
        rules.maxHeight = try options[Self.maxHeight]
        rules.maxPixels = try options[Self.maxPixels]?.pixels
        rules.checkStructure = try options[Self.checkStructure]
        rules.rejectEmbeddedCode = try options[Self.rejectEmbeddedCode]
        rules.maxTextMetadata = try options[Self.maxTextMetadata]
        rules.quarantine = try options[Self.quarantine]?.path
        rules.quarantineMode = try options[Self.quarantineMode]
        rules.quarantineMaxBytes = try options[Self.quarantineMaxBytes]
        for (option, value) in [(Self.maxWidth, rules.maxWidth), (Self.maxHeight, rules.maxHeight)] {
            if let value, value < 1 {
                throw options.error(option, "expected a positive number of pixels, got \(value)")
            }
        }
        if let minBytes = rules.minBytes, let maxBytes = rules.maxBytes, minBytes > maxBytes {
            throw options.error(Self.minBytes, "minBytes (\(minBytes)) is larger than maxBytes (\(maxBytes))")
        }
        if let file = try options[Self.profileFile] {
            do {
                rules.profile = try LimitProfile.decode(Data(contentsOf: URL(fileURLWithPath: file.path)))
            } catch let error as DecodingError {
                throw options.error(Self.profileFile, "\(file.path) is not a limits table: \(Self.describe(error))")
            } catch {
                throw options.error(Self.profileFile, "cannot read \(file.path): \(FileSystem.describe(error))")
            }
        } else if try options[Self.profile] == .wix {
            rules.profile = .wix
        }
        if rules.maxPixels == nil, let profilePixels = rules.profile?.maxPixels { rules.maxPixels = profilePixels }
        self.rules = rules
    }

    /// Creates the stage from rules.
    public init(rules: Rules) {
        self.rules = rules
    }

    public var reportInfo: [String: JSONValue] {
        guard let profile = rules.profile else { return [:] }
        return ["profile": .string(profile.name)]
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        var asset = asset
        let verdict = try check(&asset)
        guard let rejection = verdict else { return .next(asset) }
        if let quarantine = rules.quarantine, !context.pipeline.isDryRun {
            do {
                let place = try quarantineFile(asset, rejection: rejection, folder: quarantine, context: context)
                asset.facts["quarantine"] = .string(place)
            } catch {
                context.logger.error("cannot quarantine \(asset.displayPath): \(error)")
            }
        }
        return .reject(asset, rejection)
    }

    /// Applies every rule to an asset; returns the first rejection, or `nil` when the asset passes. Sets the
    /// asset's dimensions. The asset must carry the type `detect.mime` found.
    /// - Throws: ``FileError`` or ``IOFailure`` for trouble reading the file, which is not a verdict about it.
    public func check(_ asset: inout Asset) throws -> Rejection? {
        guard let path = asset.contentPath else { return nil }
        // A file that cannot be read now is trouble that may pass (a flaky mount): thrown, so it fails and is retried.
        let status = try FileStatus.of(path)
        let size = status.size
        if size == 0 { return Rejection(.empty, "file is empty (0 bytes)", details: ["size": 0]) }
        if let minBytes = rules.minBytes, size < minBytes.bytes {
            return Rejection(
                .tooSmall, "\(ByteSize.format(size)) is under the \(minBytes) minimum",
                details: ["size": .int(size), "limit": .int(minBytes.bytes)])
        }
        guard let type = asset.mime else { throw MissingDetection() }
        let fileExtension = asset.sourceExtension

        if let denied = rules.deny.first(where: { $0.matches(type.mime) }) {
            return Rejection(
                .typeNotAllowed, "\(type.mime) is denied (deny: \(denied))", details: ["mime": .string(type.mime)])
        }
        if !rules.allow.isEmpty && !rules.allow.matchesAny(type.mime) {
            return Rejection(
                .typeNotAllowed,
                "\(type.mime) is not an allowed type (allow: \(rules.allow.map(\.description).joined(separator: ", ")))",
                details: ["mime": .string(type.mime)])
        }
        if rules.rejectExtensionMismatch && !type.extensionMatches {
            let expected =
                type.extensions.isEmpty ? "" : " (expected ." + type.extensions.prefix(3).joined(separator: ", .") + ")"
            return Rejection(
                .extensionMismatch, "content is \(type.mime) but the name ends in .\(fileExtension)\(expected)",
                details: ["mime": .string(type.mime), "extension": .string(fileExtension)])
        }
        var limit = rules.maxBytes
        if let profile = rules.profile {
            guard let group = profile.group(forExtensions: type.extensions, fileExtension: fileExtension) else {
                return Rejection(
                    .typeNotAllowed, "the \(profile.name) profile does not accept \(type.mime)",
                    details: ["mime": .string(type.mime), "profile": .string(profile.name)])
            }
            if limit == nil { limit = group.maxBytes }
        }
        if let limit, size > limit.bytes {
            return Rejection(
                .tooLarge, "\(ByteSize.format(size)) is over the \(limit) limit for \(type.mime)",
                details: ["size": .int(size), "limit": .int(limit.bytes)])
        }

        if type.family == .vector || type.mime == "image/svg+xml" {
            if rules.rejectEmbeddedCode, let problem = try svgProblem(path: path) {
                return Rejection(problem.kind == .declarations ? .unsafeSVG : .embeddedCode, "SVG contains \(problem)")
            }
            return nil
        }
        // Any other XML (an SVG whose DOCTYPE hid it from detection, an .xml document): the parser-level attacks.
        if rules.rejectEmbeddedCode, type.mime.hasSuffix("/xml") || type.mime.hasSuffix("+xml"),
            let problem = try svgProblem(path: path),
            problem.kind == .declarations
        {
            return Rejection(.unsafeSVG, "XML contains \(problem)")
        }
        guard type.family == .image else { return nil }
        let info: ImageInfo
        let bytes: FileBytes  // one open file for the headers and the payload checks
        do {
            bytes = try FileBytes(path: path)
            guard let inspected = try ImageHeaders.inspect(bytes, deep: rules.checkStructure) else {
                return nil
            }
            info = inspected
        } catch let error as FormatError {
            // The error says what it means (damage rejects, a read error fails); a verdict is quarantined here.
            guard case .rejection(let rejection) = error.classification else { throw error }
            return rejection
        }
        asset.dimensions = info.size
        if let truncation = info.truncation, rules.checkStructure {
            return Rejection(.truncated, truncation)
        }
        let effective = info.effectiveSize
        let extentNote = effective != info.size ? " (frames extend the \(info.size) canvas to \(effective))" : ""
        if let maxPixels = rules.maxPixels, effective.pixels > maxPixels {
            return Rejection(
                .tooManyPixels,
                "\(effective) = \(Self.megapixels(effective.pixels)) is over the \(Self.megapixels(maxPixels)) limit\(extentNote)",
                details: [
                    "width": .int(Int64(effective.width)), "height": .int(Int64(effective.height)),
                    "limit": .int(Int64(maxPixels)),
                ])
        }
        if let maxWidth = rules.maxWidth, effective.width > maxWidth {
            return Rejection(.tooWide, "\(effective.width) pixels wide is over the \(maxWidth) limit\(extentNote)")
        }
        if let maxHeight = rules.maxHeight, effective.height > maxHeight {
            return Rejection(.tooTall, "\(effective.height) pixels tall is over the \(maxHeight) limit\(extentNote)")
        }
        if let finding = try payloadFinding(in: bytes, info: info) { return finding }
        // A stage before this one rewrote the bytes (strip.metadata removes an appended archive, PHP in a comment, a
        // zTXt bomb): what the source carried is still a verdict about it, whatever the stage order.
        if let finding = try sourcePayloadFinding(asset, checked: path) { return finding }
        return nil
    }
}

/// `validate` saw an asset no detect stage had typed: a pipeline built in code without `detect.mime` before
/// `validate` (a pipeline file cannot: the builder refuses it). No asset can pass, so the run stops.
struct MissingDetection: RunAbortingError, CustomStringConvertible {
    var abortReason: String { description }
    var description: String { "validate needs the type detect.mime finds: put a detect.mime stage before it" }
}
