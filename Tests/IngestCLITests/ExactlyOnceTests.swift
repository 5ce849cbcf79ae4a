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
}
