import Foundation
import IngestStages
import Logging
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// The generated photo-library exports (`Tests/Fixtures/exports`, see its SOURCES.md).
enum Exports {
    static let root = repositoryRoot + "/Tests/Fixtures/exports"
    static let takeout = root + "/takeout"
    static let iphone = root + "/iphone"
    static let camera = root + "/camera"
    static let photos2019 = "Takeout/Google Photos/Photos from 2019"
}

/// The items of a source's events, by relative path (a group's members included), with their sidecars' names.
func itemsWithSidecars(_ events: [SourceEvent]) -> [String: [String]] {
    var found: [String: [String]] = [:]
    for event in events {
        let items: [SourceItem]
        switch event {
        case .item(let item): items = [item]
        case .group(let members): items = members
        default: items = []
        }
        for item in items {
            found[item.origin.displayPath] = item.sidecars.map { ($0.relativePath as NSString).lastPathComponent }
        }
    }
    return found
}

func rejections(_ events: [SourceEvent]) -> [String: Rejection] {
    var found: [String: Rejection] = [:]
    for case .rejected(let item, let rejection) in events { found[item.origin.displayPath] = rejection }
    return found
}

@Suite("Sidecar names")
struct SidecarNameTests {
    func pairs(_ names: [String]) -> [String: [String]] {
        SidecarPairing.pair(names: names).sidecars.mapValues { $0.map(\.name).sorted() }
    }

    @Test("Takeout: the classic and supplemental names, cut at 46 characters, a counter moved before .json")
    func takeoutRules() {
        let long = "PXL_20190724_113012345.PORTRAIT.ORIGINAL.jpg"  // 44 characters
        let longer = "20190724_113500_long_descriptive_file_name.jpeg"  // 47: even its extension is cut
        let names = [
            "a.jpg", "a.jpg.json", "b.jpg", "b.jpg.supplemental-metadata.json", long, long + ".s.json", longer,
            "20190724_113500_long_descriptive_file_name.jpe.json", "IMG_1.JPG", "IMG_1(1).JPG", "IMG_1.JPG.json",
            "IMG_1.JPG(1).json", "c(2).jpg", "c.jpg.supplemental-metadata(2).json", "d.jpg", "d-edited.jpg",
            "d.jpg.json", "e-bearbeitet.jpg", "e.jpg.supplemental-metadata.json", "f.png", "f.json",
        ]
        let found = pairs(names)
        #expect(found["a.jpg"] == ["a.jpg.json"])
        #expect(found["b.jpg"] == ["b.jpg.supplemental-metadata.json"])
        #expect(found[long] == [long + ".s.json"])
        #expect(found[longer] == ["20190724_113500_long_descriptive_file_name.jpe.json"])
        #expect(found["IMG_1.JPG"] == ["IMG_1.JPG.json"])
        #expect(found["IMG_1(1).JPG"] == ["IMG_1.JPG(1).json"])
        #expect(found["c(2).jpg"] == ["c.jpg.supplemental-metadata(2).json"])
        // The edited copy shares its original's file, which stays the original's; alone, it owns it.
        #expect(found["d.jpg"] == ["d.jpg.json"])
        #expect(found["d-edited.jpg"] == nil)
        #expect(found["e-bearbeitet.jpg"] == ["e.jpg.supplemental-metadata.json"])
        #expect(found["f.png"] == ["f.json"])
        #expect(SidecarPairing.pair(names: names).unpairedJSON.isEmpty)
    }

    @Test("Takeout: the cut falls anywhere in .supplemental-metadata")
    func supplementalCutEverywhere() {
        for length in 30...46 {
            let stem = String(repeating: "x", count: length - 4)
            let media = stem + ".jpg"
            let json = String((media + ".supplemental-metadata").prefix(46)) + ".json"
            #expect(pairs([media, json])[media] == [json], "\(media) → \(json)")
        }
    }

    @Test("XMP by the whole name or the stem (a raw file first), AAE including iOS 16's IMG_O, orphans")
    func xmpAndAAE() {
        let names = [
            "DSC_1.NEF", "DSC_1.JPG", "DSC_1.xmp", "DSC_2.JPG", "DSC_2.JPG.XMP", "IMG_0001.HEIC", "IMG_0001.MOV",
            "IMG_0001.AAE", "IMG_0002.JPG", "IMG_O0002.AAE", "IMG_E0002.JPG", "lonely.xmp", "IMG_0003.AAE",
        ]
        let pairing = SidecarPairing.pair(names: names)
        #expect(pairs(names)["DSC_1.NEF"] == ["DSC_1.xmp"])
        #expect(pairs(names)["DSC_2.JPG"] == ["DSC_2.JPG.XMP"])
        #expect(pairs(names)["IMG_0001.HEIC"] == ["IMG_0001.AAE"])
        #expect(pairs(names)["IMG_0002.JPG"] == ["IMG_O0002.AAE"])
        #expect(pairs(names)["IMG_E0002.JPG"] == nil)
        #expect(Set(pairing.orphans.keys) == ["lonely.xmp", "IMG_0003.AAE"])
        #expect(pairing.sidecarNames.isSuperset(of: ["lonely.xmp", "IMG_0003.AAE", "DSC_1.xmp"]))
    }
}

@Suite("Sidecars and Live Photos at the source")
struct SidecarSourceTests {
    @Test("Takeout: every photo comes with its JSON, no JSON is an item, orphans are reported")
    func takeoutTree() async throws {
        let found = try await events(of: DirectorySource(root: Exports.takeout))
        let items = itemsWithSidecars(found)
        let year = Exports.photos2019
        #expect(items.keys.filter { $0.hasSuffix(".json") }.isEmpty, "\(items.keys.sorted())")
        #expect(items["\(year)/IMG_20190724_112540.jpg"] == ["IMG_20190724_112540.jpg.json"])
        #expect(items["\(year)/IMG_1234(1).JPG"] == ["IMG_1234.JPG(1).json"])
        #expect(items["\(year)/IMG_5678(1).jpg"] == ["IMG_5678.jpg.supplemental-metadata(1).json"])
        #expect(
            items["\(year)/PXL_20190724_113012345.PORTRAIT.ORIGINAL.jpg"]
                == ["PXL_20190724_113012345.PORTRAIT.ORIGINAL.jpg.s.json"])
        #expect(items["\(year)/IMG_20190801_090000-edited.jpg"] == [])
        #expect(items["\(year)/print-order.csv"] == [], "a file of another kind is an ordinary item")
        #expect(
            items["Takeout/Google Photos/Trip to Paris/Day 2/IMG_20190726_100000.jpg"]
                == ["IMG_20190726_100000.jpg.supplemental-metadata.json"])
        #expect(items.count == 13)
        let rejected = rejections(found)
        #expect(rejected["\(year)/IMG_9999.jpg.json"]?.code == .orphanSidecar)
        #expect(rejected["Takeout/Google Photos/Trip to Paris/metadata.json"]?.code == .orphanSidecar)
        #expect(rejected.count == 2)
    }

    @Test("attach: capture time, title and description become facts; location and people only when kept")
    func attachKeeps() async throws {
        let year = Exports.photos2019
        let plain = itemFacts(
            try await events(of: DirectorySource(root: Exports.takeout, sidecars: .attach)),
            "\(year)/IMG_20190724_112540.jpg")
        #expect(plain?["description"] == "Eiffel tower at noon")
        #expect(plain?["title"] == "IMG_20190724_112540.jpg")
        #expect(plain?["captureTime"]?.stringValue?.hasPrefix("2019-07-24T") == true)
        #expect(plain?["location"] == nil)
        let people = itemFacts(
            try await events(of: DirectorySource(root: Exports.takeout, sidecars: .attach)),
            "\(year)/IMG_20190724_112541.jpg")
        #expect(people?["people"] == nil)
        let kept = itemFacts(
            try await events(
                of: DirectorySource(
                    root: Exports.takeout, sidecars: .attach, sidecarKeep: [.time, .location, .people])),
            "\(year)/IMG_20190724_112541.jpg")
        #expect(kept?["location"]?["latitude"]?.doubleValue == 48.85837)
        #expect(kept?["people"] == ["Ada Lovelace"])
        #expect(kept?["description"] == nil)
        // XMP: both naming styles, by namespace.
        let camera = try await events(of: DirectorySource(root: Exports.camera, sidecars: .attach))
        #expect(itemFacts(camera, "DSC_0001.JPG")?["title"] == "Lake Zurich")
        #expect(itemFacts(camera, "DSC_0002.JPG")?["captureTime"] == "2020-02-29T10:20:30")
        #expect(rejections(camera)["DSC_0003.xmp"]?.code == .orphanSidecar)
        // AAE: when the photo was edited, and by what.
        let iphone = try await events(of: DirectorySource(root: Exports.iphone, sidecars: .attach))
        let edit = itemFacts(iphone, "DCIM/100APPLE/IMG_5196.JPG")
        #expect(edit?["editedAt"] == "2019-07-25T09:30:00.000Z")
        #expect(edit?["editor"] == "com.apple.mobileslideshow")
    }

    func itemFacts(_ events: [SourceEvent], _ path: String) -> JSONValue? {
        for event in events {
            switch event {
            case .item(let item) where item.origin.displayPath == path: return item.facts["sidecars"]
            case .group(let members):
                if let member = members.first(where: { $0.origin.displayPath == path }) {
                    return member.facts["sidecars"]
                }
            default: continue
            }
        }
        return nil
    }

    @Test(
        "an iPhone export: the Live Photo is one group, its AAE with the still; a stem pair without one identifier is not"
    )
    func iphoneTree() async throws {
        let found = try await events(of: DirectorySource(root: Exports.iphone))
        let folder = "DCIM/100APPLE/"
        let groups = found.compactMap { event -> [SourceItem]? in
            if case .group(let members) = event { return members } else { return nil }
        }
        #expect(groups.count == 1)
        let group = try #require(groups.first)
        #expect(group.map(\.origin.displayPath) == [folder + "IMG_5195.HEIC", folder + "IMG_5195.MOV"])
        #expect(group.map { $0.group?.role } == ["still", "video"])
        #expect(group[0].sidecars.map(\.kind) == [.aae])
        let items = itemsWithSidecars(found)
        #expect(items[folder + "IMG_5196.JPG"] == ["IMG_O5196.AAE"])
        #expect(items[folder + "IMG_5197.JPG"] == [] && items[folder + "IMG_5197.MOV"] == [])
        #expect(items[folder + "IMG_5198.MOV"] == [])
        #expect(rejections(found)[folder + "IMG_5199.AAE"]?.code == .orphanSidecar)
        // still-only: the video travels with the still, and is not an item.
        let stillOnly = try await events(of: DirectorySource(root: Exports.iphone, livePhotos: .stillOnly))
        let stills = itemsWithSidecars(stillOnly)
        #expect(stills[folder + "IMG_5195.HEIC"]?.sorted() == ["IMG_5195.AAE", "IMG_5195.MOV"])
        #expect(stills[folder + "IMG_5195.MOV"] == nil)
        #expect(!stillOnly.contains { if case .group = $0 { true } else { false } })
    }

    @Test("the identifiers that pair a Live Photo, read from the still's maker note and the movie's keys")
    func identifiers() throws {
        let still = try AppleIdentifiers.read(fileAt: Exports.iphone + "/DCIM/100APPLE/IMG_5195.HEIC")
        let video = try AppleIdentifiers.read(fileAt: Exports.iphone + "/DCIM/100APPLE/IMG_5195.MOV")
        #expect(still.contentIdentifier == "570F1469-09C7-4E50-9875-05F21D5BD166")
        #expect(video.contentIdentifier == still.contentIdentifier)
        #expect(try AppleIdentifiers.read(fileAt: Corpus.path("video/plain.mp4")).contentIdentifier == nil)
        #expect(try AppleIdentifiers.read(fileAt: Corpus.path("images/jpeg/gps_minimal.jpg")).contentIdentifier == nil)
    }

    @Test("bad sidecars are rejected on their own; their media goes on without them")
    func badSidecars() async throws {
        let directory = TemporaryDirectory()
        let names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]
        for name in names {
            try FileManager.default.copyItem(
                atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: directory.file(name))
        }
        try Data("this is not JSON {".utf8).write(to: URL(fileURLWithPath: directory.file("a.jpg.json")))
        // A 2 GB "sidecar" (sparse: no disk used) is never read.
        #expect(FileManager.default.createFile(atPath: directory.file("b.xmp"), contents: nil))
        let huge = try #require(FileHandle(forWritingAtPath: directory.file("b.xmp")))
        try huge.truncate(atOffset: 2 << 30)
        try huge.close()
        // A link to a device is a link leaving the folder; a FIFO inside it is no regular file: neither is opened.
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("c.jpg.xmp"), withDestinationPath: "/dev/zero")
        #expect(mkfifo(directory.file("e.jpg.json"), 0o600) == 0)
        try Data("<x:xmpmeta><!DOCTYPE x [<!ENTITY a 'b'>]></x:xmpmeta>".utf8).write(
            to: URL(fileURLWithPath: directory.file("d.xmp")))
        let found = try await events(of: DirectorySource(root: directory.path, sidecars: .attach))
        let rejected = rejections(found)
        #expect(rejected["a.jpg.json"]?.code == .sidecarMalformed)
        #expect(rejected["a.jpg.json"]?.reason.contains("not JSON") == true)
        #expect(rejected["b.xmp"]?.code == .sidecarTooLarge)
        #expect(rejected["c.jpg.xmp"]?.code == .outsideRoot)
        #expect(rejected["e.jpg.json"]?.code == .notRegularFile)
        #expect(rejected["d.xmp"]?.code == .sidecarMalformed)
        #expect(Set(itemsWithSidecars(found).keys) == Set(names), "every photo goes on")
        #expect(itemsWithSidecars(found).values.allSatisfy { $0.isEmpty })
        // Without attach, a sidecar is never read, but the limits on what it is still hold.
        let skipped = rejections(try await events(of: DirectorySource(root: directory.path)))
        #expect(skipped["b.xmp"]?.code == .sidecarTooLarge && skipped["e.jpg.json"]?.code == .notRegularFile)
        #expect(skipped["a.jpg.json"] == nil)
    }

    /// Runs `source.list` over `list.txt` in `project` with sidecars attached; the results by file name.
    func runList(in project: TemporaryDirectory) async throws -> (RunReport, [String: AssetRecord]) {
        let pipeline = try buildPipeline(
            #"{"name": "list", "state": {"enabled": false}, "stages": [{"kind": "source.list", "with": {"file": "list.txt", "sidecars": "attach"}}]}"#,
            base: project.path)
        let report = await PipelineRunner(
            pipeline: pipeline, options: RunOptions(workDirectoryParent: project.file("work"))
        ).run()
        let byName = Dictionary(
            report.assets.map { (($0.path as NSString).lastPathComponent, $0) }, uniquingKeysWith: { first, _ in first }
        )
        return (report, byName)
    }

    @Test(
        "source.list: a listed photo brings its sidecars, a listed sidecar is no item, a Live Photo half brings the other"
    )
    func listSource() async throws {
        let project = TemporaryDirectory()
        let year = Exports.takeout + "/" + Exports.photos2019
        let iphone = Exports.iphone + "/DCIM/100APPLE"
        try """
        \(year)/IMG_20190724_112540.jpg.json
        \(year)/IMG_20190724_112540.jpg
        \(year)/IMG_9999.jpg.json
        \(iphone)/IMG_5195.MOV
        \(iphone)/IMG_5195.HEIC
        """.write(toFile: project.file("list.txt"), atomically: true, encoding: .utf8)
        let (report, byName) = try await runList(in: project)
        #expect(report.assets.count == 4, "\(report.assets.map(\.path))")
        #expect(byName["IMG_20190724_112540.jpg"]?.sidecars?.map(\.kind) == [.takeout])
        #expect(byName["IMG_20190724_112540.jpg"]?.facts?["sidecars"]?["description"] == "Eiffel tower at noon")
        #expect(byName["IMG_9999.jpg.json"]?.code == "orphan_sidecar")
        #expect(
            byName["IMG_5195.HEIC"]?.facts?["livePhoto"]?["pairPath"]?.stringValue?.hasSuffix("IMG_5195.MOV") == true)
        #expect(byName["IMG_5195.MOV"]?.status == .done)
    }

    @Test(
        "source.list: a sidecar beside a listed file is taken as it stands: a link (to a file or a device) is rejected")
    func listSourceLinkedSidecars() async throws {
        let project = TemporaryDirectory()
        let elsewhere = TemporaryDirectory()
        for name in ["a.jpg", "b.jpg"] {
            try FileManager.default.copyItem(
                atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: project.file(name))
        }
        let xmp =
            #"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>"#
        try Data(xmp.utf8).write(to: URL(fileURLWithPath: elsewhere.file("a.xmp")))
        try FileManager.default.createSymbolicLink(
            atPath: project.file("a.jpg.xmp"), withDestinationPath: elsewhere.file("a.xmp"))
        try FileManager.default.createSymbolicLink(atPath: project.file("b.jpg.json"), withDestinationPath: "/dev/zero")
        try "a.jpg\nb.jpg\n".write(toFile: project.file("list.txt"), atomically: true, encoding: .utf8)
        let (_, byName) = try await runList(in: project)
        for name in ["a.jpg.xmp", "b.jpg.json"] {
            #expect(byName[name]?.code == "not_regular_file", "\(name): \(String(describing: byName[name]))")
            #expect(byName[name]?.reason?.contains("symbolic link") == true)
        }
        #expect(byName["a.jpg"]?.status == .done && byName["a.jpg"]?.sidecars?.isEmpty != false)
        #expect(byName["b.jpg"]?.status == .done)
    }

    @Test("a watcher's batch that lists a sidecar lists its media, once, with the sidecar")
    func watchBatch() async throws {
        let source = try DirectorySource(root: Exports.takeout)
        let year = Exports.photos2019
        let batch = source.restricted(to: [
            "\(year)/IMG_20190724_112540.jpg.json", "\(year)/IMG_20190724_112540.jpg", "\(year)/IMG_1234.JPG(1).json",
        ])
        let context = PipelineContext(
            pipelineName: "t", runID: "t", logger: .init(label: "t"), workDirectory: "/tmp", baseDirectory: "/tmp",
            concurrency: 1)
        var found: [SourceEvent] = []
        for try await event in batch.items(context: context) { found.append(event) }
        let items = itemsWithSidecars(found)
        #expect(
            items == [
                "\(year)/IMG_20190724_112540.jpg": ["IMG_20190724_112540.jpg.json"],
                "\(year)/IMG_1234(1).JPG": ["IMG_1234.JPG(1).json"],
            ])
        #expect(source.mayTake(relativePath: "a/b.jpg.json", isDirectory: false))
    }

    @Test("a Live Photo whose AAE is still being written waits, both halves, until the sidecar is old enough")
    func youngSidecarHoldsThePairBack() async throws {
        let directory = TemporaryDirectory()
        let folder = Exports.iphone + "/DCIM/100APPLE/"
        for name in ["IMG_5195.HEIC", "IMG_5195.MOV", "IMG_5195.AAE"] {
            try FileManager.default.copyItem(atPath: folder + name, toPath: directory.file(name))
            try setModificationTime(directory.file(name), secondsAgo: name.hasSuffix(".AAE") ? 0 : 3600)
        }
        let young = try await events(of: DirectorySource(root: directory.path, minAge: 60))
        let deferred = young.compactMap { if case .deferred(let path, _) = $0 { path } else { nil } }
        #expect(deferred.sorted() == ["IMG_5195.HEIC", "IMG_5195.MOV"], "\(young)")
        #expect(itemsWithSidecars(young).isEmpty)
        try setModificationTime(directory.file("IMG_5195.AAE"), secondsAgo: 3600)
        let settled = try await events(of: DirectorySource(root: directory.path, minAge: 60))
        #expect(settled.contains { if case .group(let members) = $0 { members.count == 2 } else { false } })
        guard case .estimate(let count, _)? = settled.last else { throw CancellationError() }
        #expect(count == 2)
    }
}
