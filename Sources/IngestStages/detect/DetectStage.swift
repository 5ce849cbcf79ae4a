import CMagic
import Foundation
import Logging
import MediaFormats
import MediaIngest

/// `detect.mime`: the MIME type from the content, with libmagic — never from the extension — plus refinements for
/// what libmagic gets wrong, the MIME family, the extensions that fit, and whether the file's own extension does.
///
/// libmagic classifies a bounded head of the file (`headBytes`), so a 4 GiB video costs one read. Each worker
/// has its own `magic_t`, loaded once.
public struct DetectStage: Stage, StageDefinition {
    public static let kind = "detect.mime"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .failure("magic", "libmagic could not classify the file (its database failed to load or answer)")
    ]
    public static let phase = StagePhase.detect
    public static let summary =
        "Detect the MIME type from the content with libmagic (plus OOXML/CSV/JSON/SVG/WebM refinements) and flag extensions that do not fit."

    /// Maps a file extension plus libmagic's answer to the MIME type to use instead.
    public struct Override: OptionValue, Hashable {
        public var fileExtension: String?
        public var detected: MIMEPattern
        public var mime: String

        public static var optionTypeName: String { "{extension?, detected, mime}" }
        public static var optionSchema: JSONValue {
            [
                "type": "object", "required": ["detected", "mime"], "additionalProperties": false,
                "properties": [
                    "extension": ["type": "string"], "detected": ["type": "string"], "mime": ["type": "string"],
                ],
            ]
        }
        public init(option input: OptionInput) throws {
            guard let object = input.value.objectValue else {
                throw input.typeMismatch(
                    expected:
                        #"an object like {"extension": "dng", "detected": "image/tiff", "mime": "image/x-adobe-dng"}"#)
            }
            for key in object.keys where !["extension", "detected", "mime"].contains(key) {
                throw input.child(object[key]!, at: .key(key)).error(
                    "unknown key \"\(key)\"",
                    suggestion: ConfigError.didYouMean(key, among: ["extension", "detected", "mime"]))
            }
            fileExtension = try object["extension"].map {
                try String(option: input.child($0, at: .key("extension"))).lowercased().trimmingCharacters(
                    in: CharacterSet(charactersIn: "."))
            }
            guard let detected = object["detected"] else {
                throw input.error("missing \"detected\" (the MIME type libmagic reports, wildcards allowed)")
            }
            self.detected = try MIMEPattern(option: input.child(detected, at: .key("detected")))
            guard let mime = object["mime"]?.stringValue, MIMEPattern(mime) != nil, !mime.contains("*") else {
                throw input.error("missing or invalid \"mime\" (the MIME type to use)")
            }
            self.mime = mime.lowercased()
        }
        public var optionJSON: JSONValue {
            var object: [String: JSONValue] = ["detected": .string(detected.description), "mime": .string(mime)]
            if let fileExtension { object["extension"] = .string(fileExtension) }
            return .object(object)
        }
    }

    /// 64 KiB: libmagic's OOXML rules search the first zip entries (a few KB; `msooxml` searches 6000 bytes past the
    /// first entry) and the central-directory refinement settles the rest. Every corpus file gets the same answer
    /// from 16 KiB as from 256 KiB; libmagic's time grows with the head (text and encoding scans), 10–20 % from
    /// 64 KiB to 256 KiB on the corpus.
    static let headBytes = StageOption<ByteSize>(
        "headBytes", default: ByteSize(65_536),
        doc:
            "How much of the start of each file libmagic sees (the rest is never read, except a zip's central directory); enough for OOXML."
    )
    static let refine = StageOption<Bool>(
        "refine", default: true,
        doc:
            "Correct libmagic's known misses: OOXML/OpenDocument vs zip, CSV/JSON vs text/plain, SVG vs text/xml, WebM vs octet-stream."
    )
    static let overrides = StageOption<[Override]>(
        "overrides", default: [],
        doc: "Rules {extension?, detected, mime} that replace libmagic's answer for matching files.")
    public static let options = [headBytes.spec, refine.spec, overrides.spec]

    let headLength: Int
    let refines: Bool
    let overrideRules: [Override]
    let table: MediaTypeTable
    private let workers = MagicWorkers()

    public init(options: OptionValues, context: StageBuildContext) throws {
        let head = try options[Self.headBytes]
        guard head.bytes >= 1024, head.bytes <= 64 << 20 else {
            throw options.error(Self.headBytes, "expected between 1KiB and 64MiB, got \(head)")
        }
        headLength = Int(head.bytes)
        refines = try options[Self.refine]
        overrideRules = try options[Self.overrides]
        table = .standard
        workers.reserve(context.concurrency)
    }

    /// Creates the stage programmatically.
    public init(headBytes: Int = 65_536, refine: Bool = true, overrides: [Override] = []) {
        headLength = headBytes
        refines = refine
        overrideRules = overrides
        table = .standard
    }

    public func prepare(_ context: PipelineContext) async throws {
        workers.reserve(context.concurrency)
        // Load the database once now, so a broken installation fails the run before any file is read.
        try workers.load(worker: 0)
    }

    public var reportInfo: [String: JSONValue] {
        ["libmagic": .string(LibraryVersions.libmagic), "magicDatabase": .string(LibraryVersions.magicDatabase)]
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let path = asset.contentPath else { return .next(asset) }
        var asset = asset
        let detection = try detect(path: path, fileExtension: asset.sourceExtension, worker: context.worker)
        asset.mime = detection.type
        if asset.size == nil { asset.size = detection.size }
        var fact: [String: JSONValue] = [
            "mime": .string(detection.type.mime), "family": .string(detection.type.family.rawValue),
            "extensions": .array(detection.type.extensions.map { .string($0) }),
            "extensionMatches": .bool(detection.type.extensionMatches),
            "libmagic": .string(detection.libmagic),
        ]
        if let refinedBy = detection.refinedBy { fact["refinedBy"] = .string(refinedBy) }
        asset.facts["detect"] = .object(fact)
        context.logger.debug(
            "detected", metadata: ["mime": "\(detection.type.mime)", "libmagic": "\(detection.libmagic)"])
        return .next(asset)
    }

    /// What detection found for one file.
    public struct Detection: Sendable, Hashable {
        /// The final type, with family and extension facts.
        public var type: MediaType
        /// libmagic's own answer.
        public var libmagic: String
        /// The refinement or override that changed libmagic's answer.
        public var refinedBy: String?
        /// The file's size.
        public var size: Int64
    }

    /// Detects one file's type (the work of `process`, usable on its own).
    /// - Throws: ``FileError`` when the file cannot be read, ``MagicError`` when libmagic fails.
    public func detect(path: String, fileExtension: String, worker: Int = 0) throws -> Detection {
        let file = try ReadableFile(path: path)
        // The head goes into the worker's reusable buffer; it is copied only for the answers a refinement looks at.
        let (libmagic, size, head) = try workers.with(worker: worker) { magic -> (String, Int64, [UInt8]?) in
            let bytes = try magic.readHead(of: file, count: headLength)
            // A short read is the whole file; otherwise ask for the size (the head does not say).
            let size = bytes.count < headLength ? Int64(bytes.count) : try file.status().size
            // file(1) reports empty files from stat() as inode/x-empty; libmagic's buffer API says application/x-empty.
            let libmagic = size == 0 ? "inode/x-empty" : try magic.classify(bytes)
            return (libmagic, size, refines && Self.mayRefine(libmagic) ? [UInt8](bytes) : nil)
        }
        var mime = libmagic
        var refinedBy: String?
        if let head, let refined = try refine(libmagic, head: head, size: size, path: path) {
            mime = refined.mime
            refinedBy = refined.reason
        }
        if let rule = overrideRules.first(where: {
            ($0.fileExtension == nil || $0.fileExtension == fileExtension) && $0.detected.matches(mime)
        }) {
            mime = rule.mime
            refinedBy = "override"
        }
        return Detection(
            type: mediaType(for: mime, fileExtension: fileExtension), libmagic: libmagic, refinedBy: refinedBy,
            size: size)
    }

    /// The libmagic answers ``refine(_:head:size:path:)`` may correct (keep the two in step: the head is copied
    /// out of the worker's buffer only for these).
    static func mayRefine(_ libmagic: String) -> Bool {
        switch libmagic {
        case "application/zip", "application/octet-stream", "application/x-zip-compressed", "text/plain", "text/xml",
            "application/xml", "text/html":
            return true
        default:
            return false
        }
    }

    /// Corrections for libmagic's known misses, or `nil` to keep its answer. Only called for the answers
    /// ``mayRefine(_:)`` lists.
    func refine(_ libmagic: String, head: [UInt8], size: Int64, path: String) throws -> (mime: String, reason: String)?
    {
        let complete = Int64(head.count) >= size
        switch libmagic {
        case "application/zip", "application/octet-stream", "application/x-zip-compressed":
            if head.starts(with: [0x50, 0x4B]) {
                if let document = try ContentChecks.zipDocumentType(FileBytes(path: path)), document != libmagic {
                    return (document, "zip-central-directory")
                }
            }
            if let matroska = ContentChecks.matroskaType(head) { return (matroska, "ebml-doctype") }
            return nil
        case "text/plain", "text/xml", "application/xml", "text/html":
            guard let text = ContentChecks.decodeText(head, truncated: !complete) else { return nil }
            if ContentChecks.isSVG(text) { return ("image/svg+xml", "svg-root") }
            guard libmagic == "text/plain" else { return nil }
            if ContentChecks.isJSON(text, complete: complete) { return ("application/json", "json-syntax") }
            if let delimiter = ContentChecks.csvDelimiter(text, complete: complete) {
                return (delimiter == "\t" ? "text/tab-separated-values" : "text/csv", "csv-fields")
            }
            return nil
        default:
            return nil
        }
    }

    /// The media type facts for a detected MIME type and the file's extension.
    public func mediaType(for mime: String, fileExtension: String) -> MediaType {
        let entry = table.entry(forMIME: mime)
        let canonical = entry?.mime ?? mime
        let family = entry?.family ?? table.family(forMIME: canonical)
        let extensions = entry?.extensions ?? []
        return MediaType(
            mime: canonical, family: family, extensions: extensions,
            extensionMatches: table.extension(fileExtension, fits: canonical))
    }
}
