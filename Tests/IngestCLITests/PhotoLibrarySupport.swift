import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// The generated photo-library exports (`Tests/Fixtures/exports`, see its SOURCES.md).
enum Exports {
    static let root = repositoryRoot + "/Tests/Fixtures/exports"

    /// Copies an export tree into `destination`, dated an hour ago (older than any `minAge`).
    static func copy(_ name: String, to destination: String) throws {
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/" + name, toPath: destination)
        let old = Date().addingTimeInterval(-3600)
        for file in try FileManager.default.subpathsOfDirectory(atPath: destination) {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: destination + "/" + file)
        }
    }
}

/// An emulator in this process and a project folder for `ingest` runs against it.
struct LibraryRig {
    static let apiKey = "sk-photo-library-test"
    static let siteID = "emulator-site-id"

    let emulator: RunningEmulator
    let data: String
    let project: TemporaryDirectoryHandle

    static func start(faults: FaultSettings = emulatorFaults(), latency: Int = 0) async throws -> LibraryRig {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("wix-lib-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: apiKey, siteID: siteID, dataDirectory: data, port: 0)
        configuration.mediaProcessingDelay = .milliseconds(300)
        var faults = faults
        faults.latencyMilliseconds = latency
        configuration.faults = faults
        let emulator = try await WixMediaEmulator.start(configuration)
        let rig = LibraryRig(emulator: emulator, data: data, project: try makeProject(files: []))
        TestCleanup.mustRegister {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        return rig
    }

    /// The `upload.wix`/`wix.await-ready` connection options for this emulator.
    var connection: String {
        #""baseURL": "${WIX_BASE_URL}", "siteId": "\#(Self.siteID)", "apiKey": "${WIX_API_KEY}", "retryBudget": 400"#
    }

    var awaitReady: String {
        #"{"kind": "wix.await-ready", "with": {\#(connection), "pollInterval": "100ms", "maxPollInterval": "300ms"}}"#
    }

    func run(
        _ pipeline: String, environment: [String: String] = [:], extra: [String] = ["--json"]
    ) async throws -> ProcessResult {
        try await runProcessAsync(
            ingest, ["run", pipeline, "--log-file", project.file("logs/\(pipeline).log")] + extra,
            environment: ["WIX_API_KEY": Self.apiKey, "WIX_BASE_URL": emulator.baseURL].merging(environment) { $1 },
            currentDirectory: project.path, timeout: 600)
    }

    /// What the emulator holds (its admin listing).
    func stored() async throws -> [[String: Any]] {
        let result = try await runProcessAsync("/usr/bin/curl", ["-sf", emulator.baseURL + "/_emulator/files"])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (object?["files"] as? [[String: Any]] ?? []).filter { $0["state"] as? String == "OK" }
    }

    /// How many uploads (PUTs of bytes, tus finalizes) the emulator answered.
    var uploads: Int {
        emulator.requestCounts.filter { $0.key.hasPrefix("PUT /upload/") && $0.key.hasSuffix(" 200") }.values
            .reduce(0, +)
    }

    /// Folder id → (name, parent), from the emulator's data folder.
    func folders() throws -> [String: (name: String, parent: String, state: String)] {
        var found: [String: (String, String, String)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: data + "/folders") where name.hasSuffix(".json")
        {
            let object =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: data + "/folders/" + name)))
                as? [String: Any]
            if let id = object?["id"] as? String {
                found[id] = (
                    object?["displayName"] as? String ?? "", object?["parentFolderId"] as? String ?? "",
                    object?["state"] as? String ?? ""
                )
            }
        }
        return found
    }

    /// The folder path of a folder id (`takeout/Takeout/Google Photos`), from the emulator's folders.
    func path(of folder: String, in folders: [String: (name: String, parent: String, state: String)]) -> String {
        var names: [String] = []
        var current = folder
        while let entry = folders[current], names.count < 50 {
            names.insert(entry.name, at: 0)
            current = entry.parent
        }
        return names.joined(separator: "/")
    }

    /// The bytes the emulator stored for a file id.
    func blob(_ id: String) -> String { data + "/blobs/" + id }

    /// The manifest's lines, parsed.
    func manifest(_ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: project.file(name), encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

/// Tags an independent reader (exiftool, with `-ee` for timed metadata) finds in files: GPS and the Live Photo
/// identifiers. Empty when none is left.
func privateTags(in paths: [String]) async throws -> [String] {
    guard !paths.isEmpty else { return [] }
    let result = try await runProcessAsync(
        "/usr/bin/exiftool",
        [
            "-q", "-q", "-ee", "-s", "-G1", "-GPSLatitude", "-GPSLongitude", "-GPSCoordinates", "-GPSPosition",
            "-ContentIdentifier", "-MediaGroupUUID", "-LocationInformation", "-BurstUUID", "-SerialNumber",
        ] + paths)
    return result.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("========") }
}

extension [String: Any] {
    subscript(path keys: String...) -> Any? {
        var current: Any? = self
        for key in keys { current = (current as? [String: Any])?[key] }
        return current
    }
}
