import Foundation
import MediaIngest

/// Which names of one folder are sidecars, and of which media — by the names the tools that write them use. Sidecars
/// always sit beside their media, so a folder's names are all it takes.
///
/// - **XMP** (`.xmp`, any case): `IMG_1.CR2.xmp` (darktable, digiKam: the media's whole name) or `IMG_1.xmp`
///   (Lightroom, Capture One: the media's stem; with a RAW and a JPEG of one stem, the RAW's).
/// - **Apple AAE** (`.aae`): `IMG_0001.AAE` and, from iOS 16, `IMG_O0001.AAE` belong to `IMG_0001.HEIC` (a still
///   before a video of the same stem). `IMG_E0001.HEIC`, the edited render, is media of its own.
/// - **Google Takeout** (`.json`): `NAME.json` or, since 2024, `NAME.supplemental-metadata.json`, where everything
///   before `.json` is cut to 46 characters (so `…supplemental-metadata` may end as `…supplemen` or `…s`); a copy
///   Takeout renamed `IMG_1(1).jpg` has its counter moved before `.json` (`IMG_1.jpg(1).json`,
///   `IMG_1.jpg.supplemental-metadata(1).json`); `IMG_1-edited.jpg` (and the localized `-bearbeitet`, `-modifié`…)
///   shares its original's file, and owns it when the original is missing; a few exports drop the media's extension
///   (`IMG_1.json`).
///
/// A JSON file no rule pairs is not assumed to be a sidecar: the source looks at its head and treats it as Takeout
/// metadata (an orphan) only when it has Takeout's keys; anything else stays an ordinary file.
public struct SidecarPairing: Sendable, Equatable {
    /// One sidecar of a media file.
    public struct Match: Sendable, Hashable {
        public var name: String
        public var kind: Sidecar.Kind
    }

    /// Media name → its sidecars (archived with it).
    public var sidecars: [String: [Match]] = [:]
    /// Every name that is a sidecar, paired or not: never an item of its own.
    public var sidecarNames: Set<String> = []
    /// Sidecars (XMP, AAE) with no media in the folder, with the reason.
    public var orphans: [String: String] = [:]
    /// JSON names no rule pairs: the source reads their head to tell Takeout metadata from ordinary files.
    public var unpairedJSON: Set<String> = []

    /// Takeout cuts everything before `.json` (or before a `(n)` counter) to this many characters.
    static let takeoutNameLimit = 46
    /// What Takeout's newer exports put between the media's name and `.json`.
    static let supplementalSuffix = ".supplemental-metadata"
    /// The suffixes Google Photos gives an edited copy's stem, in the languages its exports have been seen in.
    static let editedSuffixes = [
        "-edited", "-bearbeitet", "-modifié", "-modificato", "-editado", "-bewerkt", "-redigerad", "-muokattu",
        "-redigeret", "-redigert", "-edytowane", "-upravené", "-編集済み", "-已修改", "-편집됨",
    ]
    /// Camera raw extensions: an XMP named by stem belongs to the raw file when a JPEG shares its stem.
    static let rawExtensions: Set<String> = [
        "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "pef", "srw", "x3f",
        "3fr", "erf", "kdc", "mrw", "rwl", "iiq",
    ]
    static let stillExtensions: Set<String> = ["heic", "heif", "jpg", "jpeg", "png", "dng", "tif", "tiff", "avif"]

    /// The sidecar kind a name's extension announces, if any.
    public static func kind(ofName name: String) -> Sidecar.Kind? {
        switch Self.split(name).ext {
        case "xmp": return .xmp
        case "aae": return .aae
        case "json": return .takeout
        default: return nil
        }
    }

    /// Pairs the names of one folder (files and folders alike: a folder is simply never a sidecar's media).
    public static func pair(names: [String]) -> SidecarPairing {
        var pairing = SidecarPairing()
        var media: [String] = []
        var xmp: [String] = []
        var aae: [String] = []
        var json: [String] = []
        for name in names {
            switch kind(ofName: name) {
            case .xmp: xmp.append(name)
            case .aae: aae.append(name)
            case .takeout: json.append(name)
            case .livePhotoVideo, nil: media.append(name)
            }
        }
        guard !(xmp.isEmpty && aae.isEmpty && json.isEmpty) else { return pairing }
        let byName = Dictionary(media.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        var byStem: [String: [String]] = [:]
        for name in media { byStem[split(name).stem.lowercased(), default: []].append(name) }

        for name in xmp {
            pairing.sidecarNames.insert(name)
            let inner = String(name.dropLast(4))
            if let owner = byName[inner.lowercased()] ?? preferred(byStem[inner.lowercased()], raw: true) {
                pairing.sidecars[owner, default: []].append(Match(name: name, kind: .xmp))
            } else {
                pairing.orphans[name] = "an XMP sidecar with no media file named \(inner).* beside it"
            }
        }
        for name in aae {
            pairing.sidecarNames.insert(name)
            var stem = String(name.dropLast(4))
            if stem.count > 5, stem.uppercased().hasPrefix("IMG_O"), stem.dropFirst(5).allSatisfy(\.isNumber) {
                stem = "IMG_" + stem.dropFirst(5)
            }
            if let owner = preferred(byStem[stem.lowercased()], raw: false) {
                pairing.sidecars[owner, default: []].append(Match(name: name, kind: .aae))
            } else {
                pairing.orphans[name] = "an Apple edit file (AAE) with no photo or video named \(stem).* beside it"
            }
        }
        if !json.isEmpty {
            pairTakeout(json, media: media, byStem: byStem, into: &pairing)
        }
        return pairing
    }

    /// Takeout's rules: every media name's candidate JSON names, best first; each JSON goes to the media whose
    /// candidate it matches best (an exact name before an edited copy's share before a name without extension).
    static func pairTakeout(
        _ json: [String], media: [String], byStem: [String: [String]], into pairing: inout SidecarPairing
    ) {
        let jsonByLowercased = Dictionary(json.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        // JSON name → (rank, media): the lowest rank wins; ties go to the first media in name order.
        var claims: [String: (rank: Int, media: String)] = [:]
        for name in media {
            for (rank, candidate) in takeoutCandidates(for: name, byStem: byStem).enumerated() {
                guard let found = jsonByLowercased[candidate.lowercased()] else { continue }
                if let existing = claims[found], existing.rank <= rank { continue }
                claims[found] = (rank, name)
            }
        }
        for name in json {
            if let claim = claims[name] {
                pairing.sidecarNames.insert(name)
                pairing.sidecars[claim.media, default: []].append(Match(name: name, kind: .takeout))
            } else {
                pairing.unpairedJSON.insert(name)
            }
        }
    }

    /// The JSON names Takeout may have given `name`'s metadata, best first.
    static func takeoutCandidates(for name: String, byStem: [String: [String]]) -> [String] {
        let ext = split(name).ext
        var stem = split(name).stem
        let dotExt = ext.isEmpty ? "" : "." + originalExtension(of: name)
        // A copy Takeout renamed `IMG_1(1).jpg`: the counter goes before `.json`.
        var counter = ""
        if let open = stem.lastIndex(of: "("), stem.hasSuffix(")"), open != stem.startIndex,
            stem[stem.index(after: open)..<stem.index(before: stem.endIndex)].allSatisfy(\.isNumber),
            stem.distance(from: open, to: stem.endIndex) > 2
        {
            counter = String(stem[open...])
            stem = String(stem[..<open])
        }
        func forms(_ base: String) -> [String] {
            [
                cut(base) + counter + ".json",
                cut(base + supplementalSuffix) + counter + ".json",
            ]
        }
        var candidates = forms(stem + dotExt)
        // An edited copy shares its original's metadata.
        let lower = stem.lowercased()
        if let suffix = editedSuffixes.first(where: { lower.hasSuffix($0) }) {
            let original = String(stem.dropLast(suffix.count))
            candidates += forms(original + dotExt)
        }
        // Without the media's extension, when no other media shares the stem.
        if !ext.isEmpty, (byStem[stem.lowercased() + counter.lowercased()]?.count ?? 0) <= 1 {
            candidates.append(cut(stem) + counter + ".json")
        }
        return candidates
    }

    /// `text` cut to Takeout's limit of characters.
    static func cut(_ text: String) -> String {
        text.unicodeScalars.count <= takeoutNameLimit
            ? text : String(String.UnicodeScalarView(text.unicodeScalars.prefix(takeoutNameLimit)))
    }

    /// The stem and lower-cased extension of a name (`IMG_1.JPG` → `IMG_1`, `jpg`; a leading dot is part of the stem).
    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), name[name.index(after: dot)...].lowercased())
    }

    /// The extension as written (case kept), for names Takeout built from it.
    static func originalExtension(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// The media a stem-named sidecar belongs to: a raw file first (XMP), or a still before a video (AAE); then name
    /// order.
    static func preferred(_ candidates: [String]?, raw: Bool) -> String? {
        guard let candidates, !candidates.isEmpty else { return nil }
        let preferredSet = raw ? rawExtensions : stillExtensions
        return candidates.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .first { preferredSet.contains(split($0).ext) }
            ?? candidates.min { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `true` when the head of an unpaired JSON file looks like Google Takeout metadata (a media file's, or an album's).
    public static func looksLikeTakeout(_ head: [UInt8]) -> Bool {
        let text = String(decoding: head, as: UTF8.self)
        return [
            "\"photoTakenTime\"", "\"geoData\"", "\"geoDataExif\"", "\"creationTime\"", "\"googlePhotosOrigin\"",
            "\"photoLastModifiedTime\"", "\"albumData\"",
        ].contains { text.contains($0) }
    }
}
