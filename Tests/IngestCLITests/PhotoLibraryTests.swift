import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// Real photo-library exports through `ingest run` against the emulator: a Google Takeout archive through the shipped
/// `pipelines/takeout.json`, an iPhone export with a Live Photo.
@Suite("photo-library exports: sidecars, Live Photos, mirrored folders", .serialized, .cleansUp)
struct PhotoLibraryTests {
    @Test(
        "Takeout through pipelines/takeout.json: no sidecar uploaded, folders mirrored, no GPS at Wix, sidecars archived with their photos"
    )
    func takeout() async throws {
        let rig = try await LibraryRig.start()
        try FileManager.default.copyItem(
            atPath: repositoryRoot + "/pipelines/takeout.json", toPath: rig.project.file("pipelines/takeout.json"))
        try Exports.copy("takeout", to: rig.project.file("inbox"))
        let environment = ["TAKEOUT_INBOX": "inbox", "TAKEOUT_ARCHIVE": "archive"]
        let result = try await rig.run("takeout", environment: environment)
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report[path: "counts", "done"] as? Int == 12)
        #expect(report[path: "counts", "rejected"] as? Int == 3, "two orphans and the CSV")

        // Only photos reached Wix: no JSON, each in the folder its source folder names, with no location left.
        let stored = try await rig.stored()
        #expect(stored.count == 12)
        #expect(stored.allSatisfy { ($0["mimeType"] as? String) == "image/jpeg" })
        let folders = try rig.folders()
        let lines = try rig.manifest(".ingest/takeout-manifest.jsonl")
        for line in lines where line["status"] as? String == "done" {
            let relative = try #require(line["path"] as? String)
            let id = try #require(line[path: "target", "id"] as? String)
            let file = try #require(stored.first { $0["id"] as? String == id })
            let folder = rig.path(of: file["parentFolderId"] as? String ?? "", in: folders)
            #expect(folder == "takeout/" + (relative as NSString).deletingLastPathComponent, "\(relative)")
        }
        #expect(try await privateTags(in: stored.compactMap { $0["id"] as? String }.map(rig.blob)).isEmpty)
        // Each folder exists once.
        let pairs = folders.values.filter { $0.state == "OK" }.map { $0.parent + "/" + $0.name }
        #expect(Set(pairs).count == pairs.count)

        // The manifest pairs each photo with its JSON and keeps its time and caption, never the place.
        let eiffel = try #require(lines.first { ($0["path"] as? String)?.hasSuffix("IMG_20190724_112540.jpg") == true })
        #expect(
            (eiffel["sidecars"] as? [[String: Any]])?.first?["relativePath"] as? String
                == "Takeout/Google Photos/Photos from 2019/IMG_20190724_112540.jpg.json")
        #expect(eiffel[path: "facts", "sidecars", "description"] as? String == "Eiffel tower at noon")
        #expect((eiffel[path: "facts", "sidecars", "captureTime"] as? String)?.hasPrefix("2019-07-24") == true)
        let manifestText = try String(
            contentsOfFile: rig.project.file(".ingest/takeout-manifest.jsonl"), encoding: .utf8)
        #expect(!manifestText.contains("48.858") && !manifestText.contains("latitude"))
        let orphans = lines.filter { $0["code"] as? String == "orphan_sidecar" }.compactMap { $0["path"] as? String }
        #expect(Set(orphans.map { ($0 as NSString).lastPathComponent }) == ["IMG_9999.jpg.json", "metadata.json"])

        // Archived together; what stays is what was not uploaded.
        let archived = "archive/Takeout/Google Photos/Photos from 2019/"
        for name in [
            "IMG_20190724_112540.jpg", "IMG_20190724_112540.jpg.json", "IMG_1234(1).JPG", "IMG_1234.JPG(1).json",
        ] {
            #expect(FileManager.default.fileExists(atPath: rig.project.file(archived + name)), "\(name)")
        }
        let left = try FileManager.default.subpathsOfDirectory(atPath: rig.project.file("inbox")).filter {
            !$0.hasSuffix("/")
                && (try? FileManager.default.attributesOfItem(atPath: rig.project.file("inbox/" + $0))[.type]
                    as? FileAttributeType) == .typeRegular
        }
        #expect(
            Set(left.map { ($0 as NSString).lastPathComponent }) == [
                "IMG_9999.jpg.json", "metadata.json", "print-order.csv",
            ])

        // The ledger records the pair.
        let sidecars = try await runProcessAsync(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select sidecars from asset where identity like '%IMG_20190724_112540.jpg'\").fetchone()[0])",
                rig.project.file(".ingest/takeout.sqlite"),
            ])
        #expect(sidecars.stdout.contains("IMG_20190724_112540.jpg.json"), "\(sidecars.stderr)")

        // Nothing left to do, and nothing uploaded again.
        let uploads = rig.uploads
        let again = try await rig.run("takeout", environment: environment)
        #expect(again.status == 0)
        #expect(rig.uploads == uploads)
    }

    /// An iPhone export's pipeline: an `exec` stage fails every video while `fail-video` exists in the project.
    func iphoneProject(_ rig: LibraryRig, livePhotos: String = "pair", dedupe: String = "content") throws {
        try Exports.copy("iphone", to: rig.project.file("inbox"))
        try rig.project.write(
            "pipelines/iphone.json",
            """
            {"name": "iphone", "concurrency": 2, "state": {"dedupe": "\(dedupe)"}, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox", "sidecars": "attach", "livePhotos": "\(livePhotos)"}},
              {"kind": "detect.mime"},
              {"kind": "strip.metadata", "when": {"mime": ["image/*", "video/*"]}},
              {"kind": "exec", "when": {"mime": ["video/*"]}, "with": {"command": ["sh", "-c", "test ! -e fail-video"], "onError": "fail"}},
              {"kind": "upload.wix", "with": {\(rig.connection), "folders": "mirror"}},
              \(rig.awaitReady),
              {"kind": "source.archive", "with": {"to": "archive"}},
              {"kind": "report.manifest", "with": {"path": "manifest.jsonl"}}
            ]}
            """)
    }

    /// With `dedupe: "target"` too: the still the first run uploaded is this asset's own upload, recovered on the
    /// second run, never skipped as a duplicate of itself.
    @Test(
        "iPhone export: the Live Photo's halves are stripped of GPS and their identifier, uploaded, linked; one failing holds both back",
        arguments: ["content", "target"]
    )
    func livePhoto(dedupe: String) async throws {
        let rig = try await LibraryRig.start()
        try iphoneProject(rig, dedupe: dedupe)
        try rig.project.write("fail-video", "")
        let first = try await rig.run("iphone")
        #expect(first.status == 1, "\(first.stdout.suffix(1500))\n\(first.stderr)")
        var lines = try rig.manifest("manifest.jsonl")
        func line(_ name: String) -> [String: Any]? {
            lines.last { ($0["path"] as? String)?.hasSuffix("/" + name) == true }
        }
        #expect(line("IMG_5195.MOV")?["code"] as? String == "exec_failed")
        #expect(line("IMG_5195.HEIC")?["code"] as? String == "pair_incomplete")
        #expect(line("IMG_5195.HEIC")?[path: "facts", "livePhoto", "complete"] as? Bool == false)
        #expect(FileManager.default.fileExists(atPath: rig.project.file("inbox/DCIM/100APPLE/IMG_5195.HEIC")))
        #expect(FileManager.default.fileExists(atPath: rig.project.file("inbox/DCIM/100APPLE/IMG_5195.AAE")))

        try FileManager.default.removeItem(atPath: rig.project.file("fail-video"))
        let second = try await rig.run("iphone")
        #expect(second.status == 0, "\(second.stdout.suffix(1500))\n\(second.stderr)")
        lines = try rig.manifest("manifest.jsonl")
        let still = try #require(line("IMG_5195.HEIC"))
        let video = try #require(line("IMG_5195.MOV"))
        #expect(still["status"] as? String == "done" && still[path: "facts", "duplicateOf"] == nil)
        // Stripped of its identifier, the Live Photo's video has the bytes of IMG_5197.MOV (the same clip, another
        // identifier), which the first run uploaded: with dedupe "target" the pair links to that file instead.
        let videoID: String?
        if dedupe == "target" {
            videoID = line("IMG_5197.MOV")?[path: "target", "id"] as? String
            #expect(video["status"] as? String == "skipped")
            #expect(video[path: "facts", "duplicateOf"] as? String == videoID && videoID != nil)
        } else {
            videoID = video[path: "target", "id"] as? String
            #expect(video["status"] as? String == "done" && video[path: "facts", "duplicateOf"] == nil)
        }
        #expect(still[path: "facts", "livePhoto", "pair"] as? String == videoID)
        #expect(still[path: "facts", "livePhoto", "complete"] as? Bool == true)
        #expect(video[path: "facts", "livePhoto", "pair"] as? String == still[path: "target", "id"] as? String)
        #expect(still[path: "facts", "wix", "protocol"] as? String == "recovered", "the first run's upload is reused")
        #expect((still["sidecars"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["aae"])
        #expect(still[path: "facts", "sidecars", "editor"] as? String == "com.apple.mobileslideshow")

        let stored = try await rig.stored()
        let halves = stored.filter { ($0["displayName"] as? String)?.hasPrefix("IMG_5195.") == true }
        #expect(
            halves.compactMap { $0["displayName"] as? String }.sorted()
                == (dedupe == "target" ? ["IMG_5195.HEIC"] : ["IMG_5195.HEIC", "IMG_5195.MOV"]))
        #expect(try await privateTags(in: halves.compactMap { $0["id"] as? String }.map(rig.blob)).isEmpty)
        // The other files: a still and a video of one stem that are not one Live Photo, a video alone, an orphan.
        #expect(line("IMG_5197.JPG")?[path: "facts", "livePhoto"] == nil)
        #expect(line("IMG_5199.AAE")?["code"] as? String == "orphan_sidecar")
        #expect(!stored.contains { ($0["displayName"] as? String)?.hasSuffix(".AAE") == true })
        for name in ["IMG_5195.HEIC", "IMG_5195.MOV", "IMG_5195.AAE", "IMG_5196.JPG", "IMG_O5196.AAE"] {
            #expect(
                FileManager.default.fileExists(atPath: rig.project.file("archive/DCIM/100APPLE/" + name)), "\(name)")
        }
    }

    @Test("livePhotos still-only: the still is uploaded, the video archived with it, never uploaded")
    func stillOnly() async throws {
        let rig = try await LibraryRig.start()
        try iphoneProject(rig, livePhotos: "still-only")
        let result = try await rig.run("iphone")
        #expect(result.status == 0, "\(result.stdout.suffix(1500))\n\(result.stderr)")
        let names = try await rig.stored().compactMap { $0["displayName"] as? String }
        #expect(names.contains("IMG_5195.HEIC") && !names.contains("IMG_5195.MOV"))
        #expect(FileManager.default.fileExists(atPath: rig.project.file("archive/DCIM/100APPLE/IMG_5195.MOV")))
        let still = try #require(
            try rig.manifest("manifest.jsonl").first { ($0["path"] as? String)?.hasSuffix("IMG_5195.HEIC") == true })
        #expect(
            Set((still["sidecars"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }) == [
                "aae", "live-photo-video",
            ])
    }

    @Test("folders mirror: two runs creating the same tree at once end with each folder once, every file in it")
    func concurrentMirror() async throws {
        let rig = try await LibraryRig.start(latency: 120)
        let sources = Corpus.expectations(under: "images/jpeg/").map(\.absolutePath).prefix(8)
        for side in ["a", "b"] {
            for (index, source) in sources.enumerated() {
                let folder = rig.project.file("\(side)/Albums/\(["Trip", "Home"][index % 2])/Day \(index % 3)")
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
                bytes.append(contentsOf: Array(side.utf8))
                try bytes.write(to: URL(fileURLWithPath: folder + "/\(side)\(index).jpg"))
            }
            try rig.project.write(
                "pipelines/\(side).json",
                """
                {"name": "\(side)", "concurrency": 4, "stages": [
                  {"kind": "source.directory", "with": {"path": "\(side)"}},
                  {"kind": "detect.mime"},
                  {"kind": "upload.wix", "with": {\(rig.connection), "filePath": "/mirror", "folders": "mirror"}}
                ]}
                """)
        }
        async let a = rig.run("a")
        async let b = rig.run("b")
        let (first, second) = try await (a, b)
        #expect(first.status == 0 && second.status == 0, "\(first.stderr)\n\(second.stderr)")
        let folders = try rig.folders()
        let live = folders.filter { $0.value.state == "OK" }
        let names = live.values.map { $0.parent + "/" + $0.name }
        #expect(Set(names).count == names.count, "a folder made twice: \(names.sorted())")
        // mirror, Albums, Trip and Home, and the days of each (Trip: 0, 2, 1, 0; Home: 1, 0, 2, 1).
        let expectedFolders = 10
        #expect(live.count == expectedFolders)
        let stored = try await rig.stored()
        #expect(stored.count == 16)
        for file in stored {
            let name = file["displayName"] as? String ?? ""
            let index = Int(name.dropFirst().prefix { $0.isNumber }) ?? -1
            let expected = "mirror/Albums/\(["Trip", "Home"][index % 2])/Day \(index % 3)"
            #expect(rig.path(of: file["parentFolderId"] as? String ?? "", in: live) == expected, "\(name)")
        }
    }
}
