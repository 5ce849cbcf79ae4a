import Foundation
import MediaFormats
import MediaIngest

/// The options `source.directory` and `source.list` share for sidecars and Live Photos, and what they decide with
/// them: which names of a folder are sidecars of which media, which still and video are one Live Photo.
struct CompanionSettings: Sendable {
    static let sidecars = StageOption<SidecarMode>(
        "sidecars", default: .skip,
        doc:
            "XMP, Apple AAE and Google Takeout JSON files carry the location and times stripped from the media and are never uploaded: \"skip\" (default) pairs each with its media, records and archives it with it; \"attach\" also reads it, and the values sidecarKeep names become facts.sidecars."
    )
    static let sidecarKeep = StageOption<[SidecarKeep]>(
        "sidecarKeep", default: [.time, .title, .description],
        doc:
            "What \"attach\" keeps of a sidecar: time, title, description, keywords, rating, location, people (location and people only when named, as strip.metadata's keep)."
    )
    static let sidecarMaxBytes = StageOption<ByteSize>(
        "sidecarMaxBytes", default: .mebibytes(2),
        doc: "A larger sidecar is rejected (sidecar_too_large) without being read; its media goes on without it.")
    static let livePhotos = StageOption<LivePhotoMode>(
        "livePhotos", default: .pair,
        doc:
            "An iPhone Live Photo (a HEIC/JPEG and a MOV/MP4 of one stem with the same content identifier): \"pair\" (default) uploads both, together, linked in the manifest; \"still-only\" uploads the still and archives the video with it; \"off\" treats them as unrelated files."
    )
    static let specs = [sidecars.spec, sidecarKeep.spec, sidecarMaxBytes.spec, livePhotos.spec]

    var mode: SidecarMode
    var keep: Set<SidecarKeep>
    var maxBytes: Int64
    var livePhotos: LivePhotoMode

    init(options: OptionValues) throws {
        mode = try options[Self.sidecars]
        keep = Set(try options[Self.sidecarKeep])
        maxBytes = (try options[Self.sidecarMaxBytes]).bytes
        livePhotos = try options[Self.livePhotos]
        if maxBytes < 1 { throw options.error(Self.sidecarMaxBytes, "expected at least 1 byte") }
    }

    init(
        mode: SidecarMode = .skip, keep: Set<SidecarKeep> = SidecarKeep.defaults, maxBytes: Int64 = 2 << 20,
        livePhotos: LivePhotoMode = .pair
    ) {
        self.mode = mode
        self.keep = keep
        self.maxBytes = maxBytes
        self.livePhotos = livePhotos
    }

    /// How many bytes of an unpaired JSON file are read to tell Takeout metadata from an ordinary file.
    static let peekBytes = 64 << 10
}

/// What a folder's names say: sidecar pairs, and the stills and videos that may be Live Photos (decided by reading
/// their identifiers when the walk reaches the first of them).
struct FolderCompanions: Sendable {
    var pairing: SidecarPairing
    /// Lower-cased stem → the names of a still and a video of that stem (Live Photo candidates).
    var livePhotoCandidates: [String: (still: String, video: String)] = [:]
    /// Names of candidates, → their stem.
    var candidateStem: [String: String] = [:]

    static let stills: Set<String> = ["heic", "heif", "jpg", "jpeg"]
    static let videos: Set<String> = ["mov", "mp4"]

    init(names: [String], livePhotos: LivePhotoMode) {
        pairing = SidecarPairing.pair(names: names)
        guard livePhotos != .off else { return }
        var byStem: [String: (stills: [String], videos: [String])] = [:]
        for name in names where !pairing.sidecarNames.contains(name) {
            let (stem, ext) = SidecarPairing.split(name)
            if Self.stills.contains(ext) { byStem[stem.lowercased(), default: ([], [])].stills.append(name) }
            if Self.videos.contains(ext) { byStem[stem.lowercased(), default: ([], [])].videos.append(name) }
        }
        for (stem, found) in byStem where found.stills.count == 1 && found.videos.count == 1 {
            livePhotoCandidates[stem] = (found.stills[0], found.videos[0])
            candidateStem[found.stills[0]] = stem
            candidateStem[found.videos[0]] = stem
        }
    }
}

/// The walk's verdict on one Live Photo candidate.
enum LivePhotoDecision: Sendable {
    /// A still and its video (by content identifier).
    case pair(still: String, video: String)
    /// Not one: two ordinary files.
    case separate
    /// One of the halves is too young: both wait for a later run, so they are not split.
    case deferred(String)
}

extension CompanionSettings {
    /// Whether a candidate still and video are one Live Photo: both carry the same content identifier.
    func decideLivePhoto(still: String, video: String) -> LivePhotoDecision {
        guard let stillID = try? AppleIdentifiers.read(fileAt: still).contentIdentifier,
            let videoID = try? AppleIdentifiers.read(fileAt: video).contentIdentifier, stillID == videoID
        else { return .separate }
        return .pair(still: still, video: video)
    }

    /// The sidecars of a media item, checked and (with `attach`) read; events for the sidecars that cannot be used.
    ///
    /// - A sidecar that is not a regular file, is larger than `sidecarMaxBytes` or is not what its name says is
    ///   rejected on its own (reported, left where it is); the media goes on without it.
    /// - A sidecar younger than the source's minimum age, or one that cannot be read now (an I/O error), holds the media
    ///   back for a later run (`deferredReason`), so the pair is never split by a half-written export.
    func attach(
        _ matches: [SidecarPairing.Match], to item: inout SourceItem, folder: String, relativeFolder: String,
        root: String, cutoff: Double?, inspect: (String, String) -> Inspected
    ) -> (events: [SourceEvent], deferredReason: String?) {
        var events: [SourceEvent] = []
        var values = SidecarValues()
        var read: [String] = []
        for match in matches {
            let path = folder + "/" + match.name
            let relative = relativeFolder.isEmpty ? match.name : relativeFolder + "/" + match.name
            switch inspect(path, relative) {
            case .skip:
                continue
            case .rejected(let event):
                events.append(event)
                continue
            case .regular(let status):
                let sidecar = Sidecar(kind: match.kind, path: path, relativePath: relative, size: status.size)
                let entry = SourceItem(
                    origin: .file(path: path, root: root, relativePath: relative), size: status.size,
                    modificationDate: status.modificationDate)
                if let cutoff, status.modificationDate.timeIntervalSince1970 > cutoff {
                    return (events, "its sidecar \(relative) was modified too recently")
                }
                if status.size > maxBytes {
                    events.append(
                        .rejected(
                            entry,
                            Rejection(
                                .sidecarTooLarge,
                                "sidecar of \(status.size) bytes, over sidecarMaxBytes (\(maxBytes)); its media goes on without it"
                            )))
                    continue
                }
                if mode == .attach {
                    do {
                        values.merge(try SidecarReader.read(sidecar, limit: maxBytes))
                        read.append(relative)
                    } catch let problem {
                        guard let rejection = problem.rejection else {
                            return (events, "its sidecar \(relative) cannot be read now: \(problem)")
                        }
                        events.append(.rejected(entry, rejection))
                        continue
                    }
                }
                item.sidecars.append(sidecar)
            }
        }
        if mode == .attach, !read.isEmpty {
            item.facts["sidecars"] = values.facts(keeping: keep, from: read)
        }
        return (events, nil)
    }

    /// What an unpaired JSON file is: Takeout metadata (an orphan sidecar, never uploaded) or an ordinary file.
    func isTakeoutOrphan(_ path: String) -> Bool {
        guard let file = try? ReadableFile(path: path), let head = try? file.readHead(Self.peekBytes) else {
            return false
        }
        return SidecarPairing.looksLikeTakeout(head)
    }
}

/// What a source found at a path, by its own rules (links inside the root, regular files only).
enum Inspected {
    /// Not for this source (a folder, an excluded name, a link it does not follow).
    case skip
    /// Turned away, with the event that says why.
    case rejected(SourceEvent)
    /// A regular file (through a link inside the root, possibly), with its status.
    case regular(FileStatus)
}

extension AssetGroup.Kind {
    /// An iPhone Live Photo: a still (HEIC/JPEG, role `still`) and its video (MOV/MP4, role `video`) with the same
    /// content identifier. Each member's outcome is reported under `facts.livePhoto`.
    public static let livePhoto: Self = "livePhoto"
}
