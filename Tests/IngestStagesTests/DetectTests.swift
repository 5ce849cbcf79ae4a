import Foundation
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

@Suite("detect.mime")
struct DetectTests {
    /// Where detect.mime deliberately answers differently from `file --mime-type` (expected.tsv), and why.
    static let deliberateDifferences: [String: (mime: String, why: String)] = [
        "video/minimal.webm": (
            "video/webm", "libmagic 5.44 calls it application/octet-stream; the EBML DocType says webm"
        ),
        "images/svg/utf16le.svg": (
            "image/svg+xml", "libmagic 5.44 calls UTF-16 SVG text/xml; the root element is <svg>"
        ),
    ]

    static let stage = DetectStage()

    @Test(
        "every corpus file is classified as file(1) does, except the documented refinements",
        arguments: Corpus.expectations)
    func matchesExpected(file: Corpus.Expectation) throws {
        let detection = try Self.stage.detect(path: file.absolutePath, fileExtension: file.fileExtension)
        if let difference = Self.deliberateDifferences[file.path] {
            #expect(detection.libmagic == file.mime, "libmagic itself still answers like file(1)")
            #expect(detection.type.mime == difference.mime, "\(difference.why)")
            #expect(detection.refinedBy != nil)
        } else {
            // Aliases are normalised to one canonical name; compare through the table.
            let canonical = MediaTypeTable.standard.entry(forMIME: file.mime)?.mime ?? file.mime
            #expect(detection.type.mime == canonical)
            #expect(detection.libmagic == file.mime)
        }
    }

    @Test("families, extensions and mismatches")
    func facts() throws {
        func detect(_ relative: String) throws -> MediaType {
            try Self.stage.detect(path: Corpus.path(relative), fileExtension: (relative as NSString).pathExtension).type
        }
        let jpeg = try detect("images/jpeg/gps_minimal.jpg")
        #expect(jpeg.family == .image)
        #expect(jpeg.extensions.first == "jpg")
        #expect(jpeg.extensionMatches)
        #expect(try detect("images/heic/gps_iphone_IMG_5195.HEIC").extensionMatches, "upper-case extensions fit")
        #expect(try detect("images/jpeg/mpo_frame_size.mpo").extensionMatches)
        #expect(try detect("documents/issue311.docx").family == .document)
        #expect(try detect("documents/empty.zip").family == .archive)
        #expect(try detect("images/svg/minimal.svg").family == .vector)
        #expect(try detect("video/sample.3gp").family == .video)
        for disguised in [
            "adversarial/elf_named_photo.png", "adversarial/html_named_photo.jpg", "adversarial/pe_exe_named_photo.gif",
            "adversarial/png_named_photo.jpg", "adversarial/shell_script_named_photo.jpg",
            "adversarial/text_named_photo.png",
            "images/png/broken_no_ihdr.png",
        ] {
            #expect(try detect(disguised).extensionMatches == false, "\(disguised)")
        }
        #expect(try detect("documents/global-temp.csv").extensionMatches)
    }

    @Test("refinements: a CSV, a JSON file and an OOXML document libmagic misreads")
    func refinements() throws {
        let directory = TemporaryDirectory()
        // A small CSV libmagic calls text/plain.
        try "a,b\n1,2\n".write(toFile: directory.file("tiny.csv"), atomically: true, encoding: .utf8)
        let csv = try Self.stage.detect(path: directory.file("tiny.csv"), fileExtension: "csv")
        #expect(csv.libmagic == "text/plain")
        #expect(csv.type.mime == "text/csv")
        #expect(csv.refinedBy == "csv-fields")
        // JSON with a leading array of numbers libmagic calls text/plain.
        try "[1, 2, 3]\n".write(toFile: directory.file("numbers.json"), atomically: true, encoding: .utf8)
        let json = try Self.stage.detect(path: directory.file("numbers.json"), fileExtension: "json")
        #expect(json.type.mime == "application/json")
        // A docx whose first zip entry is not [Content_Types].xml: rebuilt with Python's zipfile, entries reversed.
        let script = """
            import zipfile, sys
            src = zipfile.ZipFile(sys.argv[1])
            with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as out:
                for info in reversed(src.infolist()):
                    out.writestr(info.filename, src.read(info.filename))
            """
        try script.write(toFile: directory.file("reorder.py"), atomically: true, encoding: .utf8)
        let result = try runProcess(
            "/usr/bin/env",
            [
                "python3", directory.file("reorder.py"), Corpus.path("documents/issue311.docx"),
                directory.file("reordered.docx"),
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let docx = try Self.stage.detect(path: directory.file("reordered.docx"), fileExtension: "docx")
        #expect(docx.type.mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        #expect(docx.type.extensionMatches)
    }

    @Test("overrides replace libmagic's answer for matching files")
    func overrides() throws {
        let options = try OptionValues.decode(
            ["overrides": [["extension": "heif", "detected": "image/heic", "mime": "image/heif"]]],
            specs: DetectStage.options)
        let stage = try DetectStage(options: options, context: StageHarness<DetectStage>.buildContext())
        let detection = try stage.detect(path: Corpus.path("images/heic/minimal.heif"), fileExtension: "heif")
        #expect(detection.refinedBy == "override")
        #expect(detection.type.mime == "image/heic", "image/heif is an alias of the canonical image/heic")
        #expect(throws: PipelineConfigurationError.self) {
            try OptionValues.decode(["overrides": [["detected": "image/*"]]], specs: DetectStage.options)
        }
    }

    @Test("only a bounded head is read: a 4 GiB file costs a head read, not 4 GiB")
    func boundedHead() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("big.mp4")
        try FileManager.default.copyItem(atPath: Corpus.path("video/plain.mp4"), toPath: path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 4 << 30)  // 4 GiB, sparse
        try handle.close()
        let before = try bytesReadByThisProcess()
        let detection = try Self.stage.detect(path: path, fileExtension: "mp4")
        let read = try bytesReadByThisProcess() - before
        #expect(detection.type.mime == "video/mp4")
        #expect(detection.size == 4 << 30)
        // /proc/self/io counts every byte this process read; other tests running alongside read a few MiB at most.
        #expect(read < 256 << 20, "read \(read) bytes")
    }

    /// `rchar` from /proc/self/io: bytes this process has read through read(2) and friends.
    func bytesReadByThisProcess() throws -> Int64 {
        let text = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("rchar:") })
        return try #require(Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)))
    }

    @Test("four workers at once, each on its own handle, give every file the answer one worker gives alone")
    func concurrentWorkers() async throws {
        let stage = DetectStage()
        let files = Corpus.expectations.map(\.absolutePath)
        let alone = try files.map {
            try stage.detect(path: $0, fileExtension: ($0 as NSString).pathExtension, worker: 0).type.mime
        }
        let answers = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for worker in 0..<4 {
                group.addTask {
                    // Each worker walks the files in its own order, so the handles are busy on different files at once.
                    let order = worker % 2 == 0 ? Array(files.indices) : Array(files.indices.reversed())
                    var seen = [String](repeating: "", count: files.count)
                    for index in order {
                        let file = files[index]
                        seen[index] = try stage.detect(
                            path: file, fileExtension: (file as NSString).pathExtension, worker: worker
                        ).type.mime
                    }
                    return (worker, seen)
                }
            }
            var all: [Int: [String]] = [:]
            for try await (worker, seen) in group { all[worker] = seen }
            return all
        }
        #expect(answers.count == 4)
        for (worker, seen) in answers.sorted(by: { $0.key < $1.key }) {
            let differing = files.indices.filter { seen[$0] != alone[$0] }.map {
                (files[$0] as NSString).lastPathComponent
            }
            #expect(differing.isEmpty, "worker \(worker) answered differently for \(differing)")
        }
        // And the answers are the corpus's expected types (the same check `detect` makes file by file above).
        let wrong = zip(Corpus.expectations, alone).filter { $0.0.mime != $0.1 }.map(\.0.path)
        #expect(wrong.count <= Corpus.expectations.count / 20, "\(wrong)")
    }
}
