import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// Exactly once against the answers Wix documents, through the `ingest` executable: a lost answer never adopts another
/// file, and privacy keeps two copies apart.
@Suite("exactly once: what a lost answer may adopt, and what is a duplicate", .serialized, .cleansUp)
struct ExactlyOnceTests {
    static func write(_ data: Data, _ relative: String, in project: TemporaryDirectoryHandle) throws {
        let path = project.file(relative)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test(
        "same name, same size, other bytes, every PUT reset: the second file is never recorded as the first's upload nor archived; once Wix answers, both are there"
    )
    func sameNameAndSizeIsNoProof() async throws {
        let emulator = try await StateTests.startEmulator()
        let project = try StateTests.wixProject(
            files: [], emulator: emulator, post: #"    {"kind": "source.archive", "with": {"to": "archive"}}"#)
        let original = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        try Self.write(original, "inbox/a/x.jpg", in: project)
        let first = try await StateTests.run(project)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: project.file("archive/a/x.jpg")))

        // Two cameras' IMG_0001.JPG: the same name and size, other bytes (one byte of the scan data differs).
        var other = original
        other[other.count - 100] ^= 0x5A
        try Self.write(other, "inbox/b/x.jpg", in: project)
        await emulator.setFaults(emulatorFaults(FaultSettings(connectionResetRate: 1)))
        let lost = try await StateTests.run(project)
        #expect(lost.status != 0, "b's bytes never reached Wix: \(lost.stdout)")
        #expect(FileManager.default.fileExists(atPath: project.file("inbox/b/x.jpg")), "b must not be archived")
        #expect(!FileManager.default.fileExists(atPath: project.file("archive/b/x.jpg")))
        #expect(try await StateTests.stored(emulator).count == 1)

        await emulator.setFaults(emulatorFaults(FaultSettings()))
        let final = try await StateTests.run(project)
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)")
        let stored = try await StateTests.stored(emulator)
        #expect(stored.count == 2, "both files at Wix")
        #expect(Set(stored.compactMap { $0["sha256"] as? String }).count == 2, "with their own bytes")
        #expect(FileManager.default.fileExists(atPath: project.file("archive/b/x.jpg")))
    }

    @Test("state.dedupe target: a public run over files uploaded privately uploads them all, and the reverse")
    func privacyIsNotADuplicate() async throws {
        let emulator = try await StateTests.startEmulator()
        let files = ["images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "documents/minimal.pdf"]
        func project(private isPrivate: Bool) throws -> TemporaryDirectoryHandle {
            try StateTests.wixProject(
                files: files, emulator: emulator, state: #"{"dedupe": "target"}"#,
                upload: #", "private": \#(isPrivate)"#)
        }
        let privately = try await StateTests.run(try project(private: true))
        #expect(privately.status == 0, "\(privately.stdout)\(privately.stderr)")
        let publicProject = try project(private: false)
        let publicly = try await StateTests.run(publicProject)
        #expect(publicly.status == 0, "\(publicly.stdout)\(publicly.stderr)")
        #expect(publicly.stdout.contains("3 done"), "nothing public existed: \(publicly.stdout)")
        let stored = try await StateTests.stored(emulator)
        #expect(stored.filter { $0["private"] as? Bool == true }.count == 3)
        #expect(stored.filter { $0["private"] as? Bool == false }.count == 3)
        // The public run again: nothing more.
        let again = try await StateTests.run(publicProject)
        #expect(again.status == 0)
        #expect(try await StateTests.stored(emulator).count == 6, "\(again.stdout)")
    }

    @Test(
        "wix.await-ready via events, with half the events lost and half repeated: every file READY once, confirmed by its event or the fallback poll"
    )
    func eventsLostAndRepeated() async throws {
        let port =
            Int(
                try await runProcessAsync(
                    "/usr/bin/env",
                    [
                        "python3", "-c",
                        "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
                    ]
                ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let emulator = try await StateTests.startEmulator {
            $0.webhookURL = "http://127.0.0.1:\(port)/wix/events"
            $0.imageProcessingDelay = .milliseconds(400)
            $0.faults.webhookLossRate = 0.5
            $0.faults.webhookDuplicateRate = 0.5
        }
        let files = StateTests.files
        let project = try StateTests.wixProject(files: files, emulator: emulator)
        try project.write("app-key.pem", try await emulator.webhookPublicKey())
        let pipeline = try String(contentsOfFile: project.file("pipelines/cron.json"), encoding: .utf8)
            .replacingOccurrences(
                of: #""pollInterval": "100ms""#,
                with:
                    #""via": "events", "eventsListen": "127.0.0.1:\#(port)", "eventsPublicKey": {"file": "app-key.pem"}, "eventTimeout": "1s""#
            )
        try project.write("pipelines/cron.json", pipeline)
        let run = try await StateTests.run(project, ["run", "cron", "--verbose"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr.suffix(3000))")
        let log = run.stdout + run.stderr
        #expect(log.contains("listening for Wix webhooks"), "\(log.suffix(3000))")
        #expect(log.contains("webhook event"), "events settled files: \(log.suffix(3000))")
        let stored = try await StateTests.stored(emulator)
        #expect(stored.count == files.count, "each file once")
        #expect(Set(stored.compactMap { $0["displayName"] as? String }).count == files.count)
        #expect(
            stored.allSatisfy { $0["operationStatus"] as? String == "READY" || $0["mediaType"] as? String == "VIDEO" })
    }

    @Test(
        "state.dedupe target, two copies of one content in one run into a folder the first upload creates: one upload, the other skipped"
    )
    func twoCopiesIntoANewFolder() async throws {
        let emulator = try await StateTests.startEmulator()
        let project = try StateTests.wixProject(
            files: ["images/jpeg/gps_minimal.jpg"], emulator: emulator, state: #"{"dedupe": "target"}"#,
            concurrency: 1, upload: #", "filePath": "/fresh/{yyyy}""#)
        try FileManager.default.copyItem(
            atPath: project.file("inbox/images/jpeg/gps_minimal.jpg"), toPath: project.file("inbox/images/copy.jpg"))
        let run = try await StateTests.run(project)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try await StateTests.stored(emulator).count == 1, "one upload: \(run.stdout)")
    }
}
