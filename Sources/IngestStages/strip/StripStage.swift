import Crypto
import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

/// `strip.metadata`: removes privacy metadata losslessly — no pixel re-encoded, no sample re-muxed, no photo
/// rotated, no colour shifted.
///
/// - JPEG, PNG, WebP and GIF are streamed into a work file (the source is never touched): memory does not grow with
///   the file and the image data is copied byte for byte. The orientation survives as a minimal EXIF written with
///   libexif holding only the Orientation tag; ICC profiles stay.
/// - HEIF/HEIC/AVIF and ISO/QuickTime movies (MP4, MOV, M4V, M4A, 3GP) are planned from their header boxes and
///   written around their media data, which is copied unchanged (by the kernel when no hash is wanted) and never
///   moves; removed payloads are zeroed where they lie. A file with nothing to remove passes unchanged, uncopied.
///
/// Other formats (TIFF, WebM, documents) are rejected with `strip_unsupported` — fail closed — unless
/// `onUnsupported` is `pass`.
///
/// MPF files (MPO stereo pairs, Ultra HDR gain maps): the primary image is kept; the MPF index and the secondary
/// images after its end are dropped, because they carry their own EXIF (GPS included) and their offsets would change.
public struct StripStage: Stage, StageDefinition {
    public static let kind = "strip.metadata"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(.stripUnsupported, "a format it cannot strip (with `onUnsupported: \"reject\"`, the default)"),
        .truncated, .malformed,
    ]
    public static let phase = StagePhase.strip
    public static let summary =
        "Remove EXIF (GPS, maker notes, thumbnail), XMP, IPTC, comments, QuickTime/MP4 location and device metadata from JPEG, PNG, WebP, GIF, HEIC/AVIF and MP4/MOV/3GP without re-encoding; keep ICC and orientation."

    /// What to keep.
    public enum Keep: String, OptionEnum {
        case orientation, icc, copyright
    }

    /// How much to remove.
    public enum Mode: String, OptionEnum {
        case all
        case gpsOnly = "gps-only"
    }

    /// What to do with formats the stage cannot strip.
    public enum Unsupported: String, OptionEnum {
        case reject, pass
    }

    static let mode = StageOption<Mode>(
        "mode", default: .all,
        doc:
            "\"all\" removes every metadata block except what `keep` names; \"gps-only\" removes only location (EXIF GPS IFD, XMP GPS, QuickTime/3GPP location, timed location tracks)."
    )
    static let keep = StageOption<[Keep]>(
        "keep", default: [.orientation, .icc],
        doc:
            "What survives: \"orientation\" (as a minimal EXIF; HEIF and video keep theirs in irot/imir and the track matrix anyway), \"icc\" (colour profiles), \"copyright\" (EXIF Copyright and Artist)."
    )
    static let onUnsupported = StageOption<Unsupported>(
        "onUnsupported", default: .reject,
        doc:
            "Formats that cannot be stripped (TIFF, WebM, documents, damaged headers): \"reject\" (fail closed) or \"pass\" unchanged."
    )
    public static let options = [mode.spec, keep.spec, onUnsupported.spec]

    /// The policy applied to each file.
    public let policy: StripPolicy
    let unsupported: Unsupported
    /// Hash the stripped copy while writing it (for an upload later in the pipeline; otherwise nobody reads it).
    let hashesOutput: Bool
    /// Hash the source while reading it, so the ledger, the manifest and the uploads never re-read it for its
    /// SHA-256 — unless nothing would: no ledger and no stage after this one.
    let hashesSource: Bool

    public init(options: OptionValues, context: StageBuildContext) throws {
        let keep = Set(try options[Self.keep])
        let mode = try options[Self.mode]
        policy = StripPolicy(
            mode: mode == .all ? .all : .gpsOnly, keepOrientation: keep.contains(.orientation),
            keepICC: keep.contains(.icc),
            keepCopyright: keep.contains(.copyright))
        unsupported = try options[Self.onUnsupported]
        hashesOutput = context.laterPhases.contains(.upload)
        hashesSource = context.keepsLedger || !context.laterPhases.isEmpty
    }

    /// Creates the stage programmatically.
    public init(policy: StripPolicy = StripPolicy(), onUnsupported: Unsupported = .reject, hashesOutput: Bool = true) {
        self.policy = policy
        self.unsupported = onUnsupported
        self.hashesOutput = hashesOutput
        hashesSource = true
    }

    public var reportInfo: [String: JSONValue] { ["libexif": .string(LibraryVersions.libexif)] }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let path = asset.contentPath else {
            return unsupported(asset, "\(asset.displayPath) is a URL; metadata can only be stripped from local files")
        }
        var asset = asset
        let head = try ReadableFile(path: path).readHead(16)
        if head.isEmpty {
            // Nothing to strip from no bytes; `validate` gives an empty file its own verdict (`empty`).
            asset.facts["strip"] = ["unchanged": true, "empty": true]
            return .next(asset)
        }
        guard let container = MediaContainer.sniff(head) else {
            let type = asset.mime?.mime ?? "this format"
            return unsupported(
                asset, "cannot strip metadata from \(type) (JPEG, PNG, WebP, GIF, HEIF/AVIF and MP4/MOV/3GP only)")
        }
        let hashesSource = hashesSource && path == asset.origin.path && asset.sourceSHA256 == nil
        var hasher = SHA256()
        let observe: (UnsafeRawBufferPointer) -> Void = { block in hasher.update(bufferPointer: block) }
        let result: Stripped
        do {
            result = try Self.strip(
                path: path, container: container, policy: policy, hashingOutput: hashesOutput,
                observe: hashesSource ? observe : nil
            ) {
                try context.makeWorkFile(named: Self.workName(asset.fileName), sizeHint: $0)
            }
        } catch let error as StripError {
            switch error.code {
            case .unsupported: return unsupported(asset, error.message)
            default:
                // Damage rejects, a read error fails: the parser's error says which (ErrorPolicy asks it).
                if let damage = error.formatError { throw damage }
                // A code this stage does not know yet: fail closed, never pass the file unstripped.
                return .reject(asset, Rejection(.stripUnsupported, error.message))
            }
        }
        if hashesSource, result.output != nil { asset.sourceSHA256 = FileHashing.hex(hasher.finalize()) }
        var facts = Self.facts(result.report, policy: policy)
        if let output = result.output {
            asset.contentPath = output
            asset.size = result.report.bytesOut
            // The upload needs the SHA-256 of what it sends before it sends it; hashed while written, it costs no re-read.
            asset.contentDigest = result.outputSHA256.map {
                ContentDigest(path: output, size: result.report.bytesOut, sha256: $0)
            }
        } else {
            facts["unchanged"] = true
        }
        asset.facts["strip"] = .object(facts)
        context.logger.debug(
            "stripped",
            metadata: [
                "removed": "\(result.report.removed)", "gps": "\(result.report.gpsFound)",
                "bytes": "\(result.report.bytesIn)→\(result.report.bytesOut)",
            ])
        return .next(asset)
    }

    /// The outcome of stripping one file.
    public struct Stripped: Sendable {
        /// What was removed.
        public var report: StripReport
        /// The stripped copy, or `nil` when the source had nothing to remove (use it as it is).
        public var output: String?
        /// The SHA-256 of the copy, when asked for and known (`nil` when a patch changed bytes already written, as a
        /// large WebP's RIFF length does).
        public var outputSHA256: String?
    }

    /// Strips one file into a work file made by `makeOutput` (given the output size when it is known).
    /// - Parameters:
    ///   - observe: sees every byte read from `path`, once, in order (to hash the source while it streams); never
    ///     called when the file passes unchanged.
    /// - Throws: ``StripError``; ``FileError`` when a file cannot be opened or written; `CancellationError`.
    public static func strip(
        path: String, container: MediaContainer, policy: StripPolicy, hashingOutput: Bool,
        observe: ((UnsafeRawBufferPointer) -> Void)?,
        makeOutput: (Int64) throws -> String
    ) throws -> Stripped {
        var outputHasher = SHA256()
        let hashOutput: ((UnsafeRawBufferPointer) -> Void)? =
            hashingOutput ? { outputHasher.update(bufferPointer: $0) } : nil
        if MetadataStripper.plannedFormats.contains(container) {
            let source: FileBytes
            do { source = try FileBytes(path: path) } catch let error as FormatError { throw StripError.damaged(error) }
            let (plan, report) = try MetadataStripper.plan(source, policy: policy, editor: LibExifEditor())
            if plan.isIdentity { return Stripped(report: report, output: nil) }
            let destination = try makeOutput(plan.outputLength)
            do {
                let target = try WritableFile(path: destination, exclusive: true)
                var writer = DescriptorWriter(
                    descriptor: target.fileDescriptor, path: destination, observer: hashOutput)
                try plan.write(from: source, to: &writer, observe: observe) { try Task.checkCancellation() }
                try writer.flush()
                try target.commit(durable: false)
            } catch let error as FormatError {
                FileSystem.removeFile(destination)
                throw StripError.damaged(error)
            } catch {
                FileSystem.removeFile(destination)
                throw error
            }
            return Stripped(
                report: report, output: destination,
                outputSHA256: hashingOutput ? FileHashing.hex(outputHasher.finalize()) : nil)
        }

        // Streamed formats: the stripped copy is never larger than the source plus a minimal EXIF.
        let source = try ReadableFile(path: path)
        let destination = try makeOutput((try? source.status().size).map { $0 + 4096 } ?? Int64.max / 2)
        do {
            let target = try WritableFile(path: destination, exclusive: true)
            var input = BufferedInput(
                DescriptorReader(descriptor: source.descriptor, path: path), observer: observe ?? { _ in })
            var writer = DescriptorWriter(descriptor: target.fileDescriptor, path: destination, observer: hashOutput)
            let report = try MetadataStripper.strip(&input, to: &writer, policy: policy, editor: LibExifEditor())
            try writer.flush()
            try target.commit(durable: false)
            // A GIF without metadata blocks is its own stripped copy.
            if container == .gif, report.removed.isEmpty, report.rewritten.isEmpty, report.trailingBytesRemoved == 0,
                report.truncation == nil
            {
                FileSystem.removeFile(destination)
                return Stripped(report: report, output: nil)
            }
            let digest = hashingOutput && !writer.patchedWrittenBytes ? FileHashing.hex(outputHasher.finalize()) : nil
            return Stripped(report: report, output: destination, outputSHA256: digest)
        } catch {
            FileSystem.removeFile(destination)
            throw error
        }
    }

    func unsupported(_ asset: Asset, _ reason: String) -> StageOutcome {
        switch unsupported {
        case .reject:
            return .reject(asset, Rejection(.stripUnsupported, reason))
        case .pass:
            var asset = asset
            asset.facts["strip"] = ["passed": .string(reason)]
            return .next(asset)
        }
    }

    static func workName(_ fileName: String) -> String {
        let cleaned = fileName.map { $0 == "/" || $0 == "\0" ? "_" : $0 }
        return String(cleaned.suffix(120))
    }

    static func facts(_ report: StripReport, policy: StripPolicy) -> [String: JSONValue] {
        var facts: [String: JSONValue] = [
            "format": .string(report.format.rawValue),
            "mode": .string(policy.mode.rawValue),
            "removed": .object(report.removed.mapValues { .int(Int64($0)) }),
            "gps": .bool(report.gpsFound),
            "makerNote": .bool(report.makerNoteFound),
            "thumbnail": .bool(report.thumbnailFound),
            "icc": .bool(report.iccKept),
            "bytesIn": .int(report.bytesIn),
            "bytesOut": .int(report.bytesOut),
        ]
        if !report.rewritten.isEmpty { facts["rewritten"] = .object(report.rewritten.mapValues { .int(Int64($0)) }) }
        if let orientation = report.orientationKept { facts["orientation"] = .int(Int64(orientation)) }
        if report.trailingBytesRemoved > 0 { facts["trailingBytesRemoved"] = .int(report.trailingBytesRemoved) }
        if report.secondaryImagesDropped > 0 {
            facts["secondaryImagesDropped"] = .int(Int64(report.secondaryImagesDropped))
        }
        if let truncation = report.truncation { facts["truncated"] = .string(truncation) }
        if let brand = report.brand { facts["brand"] = .string(brand) }
        return facts
    }
}
