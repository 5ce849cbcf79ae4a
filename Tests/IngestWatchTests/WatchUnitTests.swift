import Foundation
import IngestStages
import Logging
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

@testable import IngestWatch

/// The parts of `ingest watch` below the process: when a pending file is due, and what the inotify watcher reports
/// for real file-system operations (no mock: a real folder, the kernel's events).
@Suite("IngestWatch: pending files and the inotify watcher")
struct WatchUnitTests {
    let clock = ContinuousClock()

    @Test("a closed file is due after the settle time, an open one after openQuiet; a write after a close restarts it")
    func dueTimes() throws {
        var pending = PendingFiles()
        let t0 = clock.now
        let settle: (Int) -> Duration = { _ in .seconds(1) }
        let a = FileKey(source: 0, path: "a.jpg")
        let b = FileKey(source: 0, path: "b.jpg")
        pending.changed(a, closed: true, at: t0)
        pending.changed(b, closed: false, at: t0)
        #expect(
            pending.takeDue(at: t0 + .milliseconds(900), settle: settle, openQuiet: .seconds(10), root: { _ in nil })
                .isEmpty)
        #expect(pending.nextDue(settle: settle, openQuiet: .seconds(10)) == t0 + .seconds(1))
        #expect(
            pending.takeDue(at: t0 + .seconds(1), settle: settle, openQuiet: .seconds(10), root: { _ in nil }) == [a])
        #expect(
            pending.takeDue(at: t0 + .seconds(9), settle: settle, openQuiet: .seconds(10), root: { _ in nil }).isEmpty)
        pending.changed(b, closed: true, at: t0 + .seconds(9))
        pending.changed(b, closed: false, at: t0 + .seconds(9.5))  // reopened and written again
        #expect(
            pending.takeDue(at: t0 + .seconds(11), settle: settle, openQuiet: .seconds(10), root: { _ in nil }).isEmpty)
        #expect(
            pending.takeDue(at: t0 + .seconds(19.5), settle: settle, openQuiet: .seconds(10), root: { _ in nil }) == [b]
        )
    }

    @Test("only folder sources can be watched: a list is refused, a queue is refused with the way to consume it")
    func unwatchableSources() throws {
        let directory = TemporaryDirectory()
        func startError(_ source: String) throws -> String {
            let pipeline = try PipelineBuilder(registry: .builtins).build(
                data: Data(#"{"name": "w", "stages": [\#(source)]}"#.utf8),
                file: directory.file("pipelines/w.json"), baseDirectory: directory.path)
            do {
                try WatchService.check(pipeline)
                return ""
            } catch {
                return error.description
            }
        }
        #expect(try startError(#"{"kind": "source.directory", "with": {"path": "inbox"}}"#).isEmpty)
        let list = try startError(#"{"kind": "source.list", "with": {"file": "files.txt"}}"#)
        #expect(
            list == #"source "source.list" (source.list) cannot be watched: only folder and remote sources can"#,
            "\(list)")
        let queue = try startError(#"{"kind": "source.queue"}"#)
        #expect(queue.hasPrefix(#"source "source.queue" (source.queue) cannot be watched"#), "\(queue)")
        #expect(queue.contains(#"`ingest run` it with the source's "idle" option"#), "\(queue)")
    }

    @Test(
        "a file whose modification time is younger than the settle time waits for it; removals drop files and folders")
    func modificationTimeAndRemovals() throws {
        let directory = TemporaryDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file("fresh.jpg")))
        var pending = PendingFiles()
        let now = clock.now
        let settle: (Int) -> Duration = { _ in .seconds(30) }
        pending.found(FileKey(source: 0, path: "fresh.jpg"), at: now)
        #expect(
            pending.takeDue(at: now, settle: settle, openQuiet: .seconds(10), root: { _ in directory.path }).isEmpty,
            "written a moment ago: not yet")
        let next = try #require(pending.nextDue(settle: settle, openQuiet: .seconds(10)))
        #expect(next > now + .seconds(25) && next <= now + .seconds(31), "due when its mtime is 30 s old")

        for path in ["d/1.jpg", "d/e/2.jpg", "dx/3.jpg", "4.jpg"] {
            pending.changed(FileKey(source: 0, path: path), closed: true, at: now)
        }
        pending.changed(FileKey(source: 1, path: "d/5.jpg"), closed: true, at: now)
        pending.removed(source: 0, path: "d", folder: true)
        pending.removed(source: 0, path: "4.jpg", folder: false)
        #expect(
            Set(pending.entries.keys.map { "\($0.source):\($0.path)" }) == ["0:fresh.jpg", "0:dx/3.jpg", "1:d/5.jpg"])
    }

    @Test("the watcher reports files written, closed, moved in and made in new folders, and removals, from the kernel")
    func watcherEvents() async throws {
        let directory = TemporaryDirectory()
        let outside = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("inbox"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: directory.file("inbox/old.jpg")))
        let source = try DirectorySource(root: directory.file("inbox"), exclude: ["skip/**"])
        let (inputs, continuation) = AsyncStream<WatchInput>.makeStream()
        let watcher = try FolderWatcher(index: 0, source: source, inputs: continuation, logger: Logger(label: "t"))
        watcher.start()
        defer { watcher.stop() }
        var iterator = inputs.makeAsyncIterator()
        var seen: [String] = []
        func next(until predicate: (String) -> Bool) async -> Bool {
            while let input = await iterator.next() {
                let word: String
                switch input {
                case .found(_, let path, _): word = "found \(path)"
                case .changed(_, let path, let closed, _): word = (closed ? "closed " : "written ") + path
                case .removed(_, let path, let folder): word = (folder ? "removed folder " : "removed ") + path
                default: word = "\(input)"
                }
                seen.append(word)
                if predicate(word) { return true }
            }
            return false
        }
        #expect(await next { $0 == "found old.jpg" }, "the start walk: \(seen)")
        let handle = try #require(FileHandle(forWritingAtPath: directory.file("inbox/old.jpg")))
        try handle.write(contentsOf: Data("more".utf8))
        #expect(await next { $0 == "written old.jpg" }, "\(seen)")
        try handle.close()
        #expect(await next { $0 == "closed old.jpg" }, "\(seen)")
        try Data("m".utf8).write(to: URL(fileURLWithPath: outside.file("moved.jpg")))
        try FileManager.default.moveItem(atPath: outside.file("moved.jpg"), toPath: directory.file("inbox/moved.jpg"))
        #expect(await next { $0 == "closed moved.jpg" }, "mv counts as a finished write: \(seen)")
        try FileManager.default.createDirectory(
            atPath: directory.file("inbox/new/deeper"), withIntermediateDirectories: true)
        try Data("n".utf8).write(to: URL(fileURLWithPath: directory.file("inbox/new/deeper/n.jpg")))
        #expect(await next { $0.hasSuffix("new/deeper/n.jpg") }, "a file in a new nested folder: \(seen)")
        try FileManager.default.createDirectory(atPath: directory.file("inbox/skip"), withIntermediateDirectories: true)
        try Data("s".utf8).write(to: URL(fileURLWithPath: directory.file("inbox/skip/s.jpg")))
        try FileManager.default.removeItem(atPath: directory.file("inbox/moved.jpg"))
        #expect(await next { $0 == "removed moved.jpg" }, "\(seen)")
        #expect(!seen.contains { $0.contains("skip/") }, "excluded folders are not watched: \(seen)")
        try FileManager.default.moveItem(atPath: directory.file("inbox/new"), toPath: outside.file("new"))
        #expect(await next { $0 == "removed folder new" }, "\(seen)")
    }
}
