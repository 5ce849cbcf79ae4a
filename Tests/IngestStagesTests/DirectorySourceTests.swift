import Foundation
import IngestStages
import Logging
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// Collects a source's events.
func events(
    of source: DirectorySource, control: RunControl = RunControl(), logger: Logger = .init(label: "t")
) async throws -> [SourceEvent] {
    let context = PipelineContext(
        pipelineName: "t", runID: "t", logger: logger, workDirectory: "/tmp", baseDirectory: "/tmp",
        concurrency: 1, control: control)
    var result: [SourceEvent] = []
    for try await event in source.items(context: context) { result.append(event) }
    return result
}

func itemPaths(_ events: [SourceEvent]) -> [String] {
    events.compactMap { if case .item(let item) = $0 { return item.origin.displayPath } else { return nil } }
}

func setModificationTime(_ path: String, secondsAgo: Double) throws {
    try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(-secondsAgo)], ofItemAtPath: path)
}

@Suite("source.directory")
struct DirectorySourceTests {
    let files = [
        "images/jpeg/gps_minimal.jpg", "images/jpeg/Canon_DIGITAL_IXUS_400.jpg", "images/png/iccp.png",
        "images/webp/plain_lossy.webp", "documents/minimal.pdf", "video/minimal.webm",
    ]

    func tree() throws -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        try copyCorpus(files, into: directory.path)
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: directory.file("images/jpeg/UPPER.JPG"))
        try Data("hidden".utf8).write(to: URL(fileURLWithPath: directory.file("images/.hidden.jpg")))
        try FileManager.default.createDirectory(atPath: directory.file(".cache"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file(".cache/c.jpg")))
        for file in try FileManager.default.subpathsOfDirectory(atPath: directory.path) {
            try setModificationTime(directory.file(file), secondsAgo: 3600)
        }
        return directory
    }

    @Test("every regular file, sorted, hidden ones left out, with the estimate when the listing ends")
    func everything() async throws {
        let directory = try tree()
        let found = try await events(of: DirectorySource(root: directory.path))
        guard case .estimate(let count, let bytes)? = found.last else {
            Issue.record("no estimate last")
            return
        }
        #expect(found.filter { if case .estimate = $0 { true } else { false } }.count == 1)
        #expect(count == 7)
        #expect(
            bytes == files.reduce(0) { $0 + Corpus.expectation($1)!.size }
                + Corpus.expectation("images/jpeg/gps_minimal.jpg")!.size)
        #expect(
            itemPaths(found) == [
                "documents/minimal.pdf", "images/jpeg/Canon_DIGITAL_IXUS_400.jpg", "images/jpeg/UPPER.JPG",
                "images/jpeg/gps_minimal.jpg",
                "images/png/iccp.png", "images/webp/plain_lossy.webp", "video/minimal.webm",
            ])
    }

    @Test("include and exclude globs, case-insensitive by default")
    func globs() async throws {
        let directory = try tree()
        let jpegs = try await events(of: DirectorySource(root: directory.path, include: ["*.jpg"]))
        #expect(
            itemPaths(jpegs) == [
                "images/jpeg/Canon_DIGITAL_IXUS_400.jpg", "images/jpeg/UPPER.JPG", "images/jpeg/gps_minimal.jpg",
            ])
        let noImages = try await events(of: DirectorySource(root: directory.path, exclude: ["images/**"]))
        #expect(itemPaths(noImages) == ["documents/minimal.pdf", "video/minimal.webm"])
        let mixed = try await events(
            of: DirectorySource(root: directory.path, include: ["images/**/*.{jpg,png}"], exclude: ["*canon*"]))
        #expect(itemPaths(mixed) == ["images/jpeg/UPPER.JPG", "images/jpeg/gps_minimal.jpg", "images/png/iccp.png"])
        let hidden = try await events(of: DirectorySource(root: directory.path, include: ["*.jpg"], skipHidden: false))
        #expect(itemPaths(hidden).contains(".cache/c.jpg"))
        #expect(itemPaths(hidden).contains("images/.hidden.jpg"))
    }

    @Test("files younger than minAge are left for a later run")
    func minimumAge() async throws {
        let directory = try tree()
        try setModificationTime(directory.file("images/png/iccp.png"), secondsAgo: 5)
        let found = try await events(of: DirectorySource(root: directory.path, minAge: 60))
        #expect(!itemPaths(found).contains("images/png/iccp.png"))
        let deferred = found.compactMap { if case .deferred(let path, _) = $0 { return path } else { return nil } }
        #expect(deferred == ["images/png/iccp.png"])
        #expect(itemPaths(found).count == 6)
    }

    @Test("symbolic links: inside the root followed, outside or broken rejected, loops survived")
    func symbolicLinks() async throws {
        let directory = try tree()
        let outside = TemporaryDirectory()
        try copyCorpus(["images/png/minimal_transparent.png"], into: outside.path)
        let manager = FileManager.default
        try manager.createSymbolicLink(
            atPath: directory.file("inside-link.png"), withDestinationPath: directory.file("images/png/iccp.png"))
        try manager.createSymbolicLink(
            atPath: directory.file("escape.png"),
            withDestinationPath: outside.file("images/png/minimal_transparent.png"))
        try manager.createSymbolicLink(atPath: directory.file("escape-dir"), withDestinationPath: outside.path)
        try manager.createSymbolicLink(
            atPath: directory.file("relative-escape.png"),
            withDestinationPath: "../" + (outside.path as NSString).lastPathComponent
                + "/images/png/minimal_transparent.png")
        try manager.createSymbolicLink(
            atPath: directory.file("broken.jpg"), withDestinationPath: directory.file("nowhere.jpg"))
        try manager.createSymbolicLink(
            atPath: directory.file("images/loop"), withDestinationPath: directory.file("images"))
        let found = try await events(of: DirectorySource(root: directory.path))
        #expect(itemPaths(found).contains("inside-link.png"))
        var rejected: [String: Rejection.Code] = [:]
        for event in found {
            if case .rejected(let item, let rejection) = event { rejected[item.origin.displayPath] = rejection.code }
        }
        #expect(
            rejected == [
                "escape.png": .outsideRoot, "escape-dir": .outsideRoot, "relative-escape.png": .outsideRoot,
                "broken.jpg": .unreadable,
            ])
        // The loop link leads back into the tree: its folder is visited once, not forever.
        #expect(itemPaths(found).filter { $0.hasPrefix("images/loop/") }.isEmpty)
    }

    @Test("a link to a folder inside the root, met before the folder: its files are listed once, under their own path")
    func linkToAFolderInsideTheRoot() async throws {
        let directory = TemporaryDirectory()
        try copyCorpus(["images/png/iccp.png"], into: directory.file("sub"))
        // "a-link" sorts before "sub": the walk meets the link first.
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("a-link"), withDestinationPath: directory.file("sub"))
        let logs = InMemoryLogHandler.Store()
        let found = try await events(of: DirectorySource(root: directory.path), logger: logs.logger())
        #expect(itemPaths(found) == ["sub/images/png/iccp.png"])
        #expect(logs.entries(atLeast: .warning).isEmpty, "\(logs.entries.map(\.message))")
    }

    @Test("a missing folder is a clear source error")
    func missingRoot() async throws {
        await #expect {
            _ = try await events(of: DirectorySource(root: "/nonexistent/inbox"))
        } throws: { error in
            "\(error)" == "cannot read /nonexistent/inbox: No such file or directory"
        }
    }

    @Test("bad glob options are configuration errors at their path")
    func badOptions() throws {
        #expect {
            _ = try DirectorySource(
                options: OptionValues.decode(
                    ["path": "/tmp", "include": ["ok/*", "[bad"]], specs: DirectorySource.options),
                context: StageHarness<CollectingStage>.buildContext())
        } throws: { error in
            (error as? ConfigError)?.description == #"include[1]: invalid pattern "[bad": unclosed "[""#
        }
    }

    @Test(
        "a watcher's restricted listing takes exactly what a full walk takes of those paths: hidden, excluded, too deep, links leaving the root"
    )
    func restrictedListing() async throws {
        let directory = try tree()
        let outside = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: outside.file("d"), withIntermediateDirectories: true)
        try Data([0xFF, 0xD8, 0xFF]).write(to: URL(fileURLWithPath: outside.file("d/x.jpg")))
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("away"), withDestinationPath: outside.file("d"))
        try FileManager.default.createDirectory(
            atPath: directory.file("raw/deep/er"), withIntermediateDirectories: true)
        try Data("r".utf8).write(to: URL(fileURLWithPath: directory.file("raw/deep/er/r.jpg")))
        try FileManager.default.createDirectory(atPath: directory.file(".cache"), withIntermediateDirectories: true)
        try Data("c".utf8).write(to: URL(fileURLWithPath: directory.file(".cache/c.jpg")))
        let source = try DirectorySource(
            options: OptionValues.decode(
                ["path": .string(directory.path), "exclude": ["raw/**", "*.pdf"], "maxDepth": 2],
                specs: DirectorySource.options),
            context: StageHarness<CollectingStage>.buildContext())
        let asked = [
            "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "documents/minimal.pdf", "raw/deep/er/r.jpg",
            ".cache/c.jpg", "away/x.jpg", "images/.hidden.jpg", "images", "missing.jpg", "../escape.jpg",
            "images/png/iccp.png",
        ]
        let restricted = try #require(source.restricted(to: asked) as? DirectorySource)
        #expect(!restricted.listsEverything && source.listsEverything)
        let full = Set(itemPaths(try await events(of: source)))
        let wanted = full.filter { path in asked.contains { path == $0 || path.hasPrefix($0 + "/") } }
        let listed = itemPaths(try await events(of: restricted))
        #expect(listed.count == Set(listed).count, "each entry once")
        #expect(Set(listed) == wanted, "restricted \(listed.sorted()) vs full \(wanted.sorted())")
        #expect(Set(listed).contains("images/webp/plain_lossy.webp"), "a folder stands for what is under it")
        #expect(!listed.contains("away/x.jpg") && !listed.contains("raw/deep/er/r.jpg"))
        // The watcher's early filter agrees with the walk on these.
        #expect(!source.mayTake(relativePath: ".cache", isDirectory: true))
        #expect(!source.mayTake(relativePath: "raw/deep", isDirectory: true))
        #expect(!source.mayTake(relativePath: "documents/minimal.pdf", isDirectory: false))
        #expect(source.mayTake(relativePath: "images/jpeg/gps_minimal.jpg", isDirectory: false))
        #expect(!source.mayTake(relativePath: "a/b/c/too-deep.jpg", isDirectory: false))
    }
}
