import Crypto
import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest

/// `strip.metadata`: removes privacy metadata losslessly — no pixel re-encoded, no photo rotated, no colour shifted.
///
/// JPEG, PNG and WebP are rewritten into a work file (the source is never touched), streaming: memory does not grow
/// with the file, and the image data is copied byte for byte. The orientation survives as a minimal EXIF written with
/// libexif holding only the Orientation tag; ICC profiles stay. Other formats (TIFF, HEIC/AVIF, video, documents, GIF
/// with XMP or comments) are rejected with `strip_unsupported` — fail closed — unless `onUnsupported` is `pass`.
///
/// MPF files (MPO stereo pairs, Ultra HDR gain maps): the primary image is kept; the MPF index and the secondary
/// images after its end are dropped, because they carry their own EXIF (GPS included) and their offsets would change.
public struct StripStage: Stage, StageDefinition {
    public static let kind = "strip.metadata"
    public static let phase = StagePhase.strip
    public static let summary = "Remove EXIF (GPS, maker notes, thumbnail), XMP, IPTC and comments from JPEG, PNG and WebP without re-encoding; keep ICC and orientation."

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

    static let mode = StageOption<Mode>("mode", default: .all, doc: "\"all\" removes every metadata block except what `keep` names; \"gps-only\" removes only location (EXIF GPS IFD, XMP GPS).")
    static let keep = StageOption<[Keep]>("keep", default: [.orientation, .icc], doc: "What survives: \"orientation\" (as a minimal EXIF), \"icc\" (colour profiles), \"copyright\" (EXIF Copyright and Artist).")
    static let onUnsupported = StageOption<Unsupported>("onUnsupported", default: .reject, doc: "Formats that cannot be stripped (TIFF, HEIC/AVIF, video, documents, GIF with XMP): \"reject\" (fail closed) or \"pass\" unchanged.")
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
            mode: mode == .all ? .all : .gpsOnly, keepOrientation: keep.contains(.orientation), keepICC: keep.contains(.icc),
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
        let format = ImageHeaders.sniff(head)
        switch format {
        case .jpeg?, .png?, .webp?:
            break
        case .gif?:
            let blocks = try GIFMetadata.blocks(FileBytes(path: path))
            guard blocks.isEmpty else {
                return unsupported(asset, "GIF with \(blocks.joined(separator: " and ")) blocks cannot be stripped")
            }
            asset.facts["strip"] = ["format": "gif", "removed": [:], "note": "no metadata blocks"]
            return .next(asset)
        default:
            let type = asset.mime?.mime ?? format.map { "image/\($0.rawValue)" } ?? "this format"
            return unsupported(asset, "cannot strip metadata from \(type) (JPEG, PNG and WebP only)")
        }

        // The stripped copy is never larger than the source plus a minimal EXIF.
        let output = try context.makeWorkFile(named: Self.workName(asset.fileName), sizeHint: (asset.size ?? Int64.max / 2) + 4096)
        let hashesSource = hashesSource && path == asset.origin.path && asset.sourceSHA256 == nil
        var hasher = SHA256()
        let report: StripReport
        let outputSHA256: String?
        do {
            (report, outputSHA256) = try Self.strip(path: path, to: output, policy: policy, hashingOutput: hashesOutput) { block in
                if hashesSource { hasher.update(bufferPointer: block) }
            }
        } catch let error as StripError {
            FileSystem.removeFile(output)
            switch error {
            case .unsupported(let text): return unsupported(asset, text)
            case .damaged(.truncated(let text)): return .reject(asset, Rejection(.truncated, text))
            case .damaged(.malformed(let text)), .damaged(.loop(let text)): return .reject(asset, Rejection(.malformed, text))
            case .damaged(.io(let text)): throw StripFailure(message: text)
            }
        }
        if hashesSource { asset.sourceSHA256 = Digest.hex(hasher.finalize()) }
        asset.contentPath = output
        asset.size = report.bytesOut
        // The upload needs the SHA-256 of what it sends before it sends it; hashed while written, it costs no re-read.
        asset.contentDigest = outputSHA256.map { ContentDigest(path: output, size: report.bytesOut, sha256: $0) }
        asset.facts["strip"] = Self.facts(report, policy: policy)
        context.logger.debug(
            "stripped", metadata: ["removed": "\(report.removed)", "gps": "\(report.gpsFound)", "bytes": "\(report.bytesIn)→\(report.bytesOut)"])
        return .next(asset)
    }

    /// Strips one file into another.
    /// - Parameter observe: sees every byte read from `path`, once (to hash the source while it streams).
    /// - Throws: ``StripError``; ``FileError`` when a file cannot be opened or written.
    public static func strip(
        path: String, to destination: String, policy: StripPolicy, observe: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws -> StripReport {
        try strip(path: path, to: destination, policy: policy, hashingOutput: false, observe: observe).report
    }

    /// Strips one file into another and, with `hashingOutput`, returns the SHA-256 of what it wrote (`nil` when a
    /// patch changed bytes already written, as a large WebP's RIFF length does).
    static func strip(
        path: String, to destination: String, policy: StripPolicy, hashingOutput: Bool, observe: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws -> (report: StripReport, sha256: String?) {
        let source = try ReadableFile(path: path)
        let target = try WritableFile(path: destination, exclusive: true)
        var input = BufferedInput(DescriptorReader(descriptor: source.descriptor, path: path), observer: observe)
        var outputHasher = SHA256()
        var writer = DescriptorWriter(
            descriptor: target.fileDescriptor, path: destination, observer: hashingOutput ? { outputHasher.update(bufferPointer: $0) } : nil)
        let report = try MetadataStripper.strip(&input, to: &writer, policy: policy, editor: LibExifEditor())
        try writer.flush()
        try target.commit(durable: false)
        let digest = hashingOutput && !writer.patchedWrittenBytes ? Digest.hex(outputHasher.finalize()) : nil
        return (report, digest)
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

    static func facts(_ report: StripReport, policy: StripPolicy) -> JSONValue {
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
        if report.secondaryImagesDropped > 0 { facts["secondaryImagesDropped"] = .int(Int64(report.secondaryImagesDropped)) }
        if let truncation = report.truncation { facts["truncated"] = .string(truncation) }
        return .object(facts)
    }
}

/// An I/O failure while stripping (retried by a later run).
struct StripFailure: Error, AssetFailureDescribing, CustomStringConvertible {
    var message: String
    var failureCode: String { "io" }
    var failureMessage: String { message }
    var description: String { message }
}

/// Metadata blocks in a GIF: comment extensions and XMP application extensions.
enum GIFMetadata {
    static func blocks(_ source: some ByteSource) throws -> [String] {
        let header = try source.bytes(at: 0, count: 13)
        guard header.count == 13 else { return [] }
        var offset: Int64 = 13
        if header[10] & 0x80 != 0 { offset += 3 * Int64(1 << (Int(header[10] & 0x07) + 1)) }
        var found: [String] = []
        while let introducer = try source.bytes(at: offset, count: 1).first {
            switch introducer {
            case 0x3B:
                return found
            case 0x21:
                guard let label = try source.bytes(at: offset + 1, count: 1).first else { return found }
                if label == 0xFE && !found.contains("comment") { found.append("comment") }
                if label == 0xFF {
                    let application = try source.bytes(at: offset + 3, count: 11)
                    if application.starts(with: Array("XMP DataXMP".utf8)) && !found.contains("XMP") { found.append("XMP") }
                }
                offset = try skipSubBlocks(source, from: offset + 2)
            case 0x2C:
                let descriptor = try source.bytes(at: offset, count: 10)
                guard descriptor.count == 10 else { return found }
                offset += 10
                if descriptor[9] & 0x80 != 0 { offset += 3 * Int64(1 << (Int(descriptor[9] & 0x07) + 1)) }
                offset = try skipSubBlocks(source, from: offset + 1)
            default:
                return found
            }
        }
        return found
    }

    static func skipSubBlocks(_ source: some ByteSource, from start: Int64) throws -> Int64 {
        var offset = start
        while let length = try source.bytes(at: offset, count: 1).first {
            offset += 1
            if length == 0 { return offset }
            offset += Int64(length)
        }
        return offset
    }
}
