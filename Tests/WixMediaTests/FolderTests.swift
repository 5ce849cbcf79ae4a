import Foundation
import Logging
import MediaIngest
import TestSupport
import Testing
import WixMedia
import WixMediaEmulator

/// Folders as Wix documents them (Create, List with paging, Search, Bulk Delete; Search Files) in the emulator, and
/// the client's folder paths: each folder once, the same one for every client, under both readings of whether Wix
/// lets two folders share a name (`WIX_EMULATOR_STRICT=1`: it does not).
@Suite("Wix folders: the emulator's endpoints and the client's mirrored paths", .serialized, .cleansUp)
struct WixFolderTests {
    static func start(latency: Int = 0) async throws -> (RunningEmulator, WixMediaClient, WixMediaClient) {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("folders-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: "k", siteID: "s", dataDirectory: data, port: 0)
        if ProcessInfo.processInfo.environment["WIX_EMULATOR_STRICT"] == "1" { configuration.faults.makeStrict() }
        configuration.faults.latencyMilliseconds = latency
        let emulator = try await WixMediaEmulator.start(configuration)
        func client() -> WixMediaClient {
            WixMediaClient(
                baseURL: emulator.baseURL, apiKey: "k", siteID: "s",
                retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20)),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
        let (one, two) = (client(), client())
        TestCleanup.mustRegister {
            await one.close()
            await two.close()
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        return (emulator, one, two)
    }

    /// An API call through curl (an independent client), parsed.
    static func call(
        _ emulator: RunningEmulator, _ method: String, _ path: String, _ body: String? = nil
    )
        async throws -> [String: Any]
    {
        var arguments = ["-s", "-X", method, "-H", "Authorization: k", "-H", "wix-site-id: s", emulator.baseURL + path]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        let result = try await runProcessAsync("/usr/bin/curl", arguments)
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    @Test(
        "List Folders pages with hasNext and opaque cursors; Search Folders and Search Files find by name; Bulk Delete trashes"
    )
    func endpoints() async throws {
        let (emulator, client, _) = try await Self.start()
        var made: [String] = []
        for index in 0..<7 { made.append(try await client.createFolder(named: "album \(index)", in: "media-root").id) }
        var seen: [String] = []
        var cursor = ""
        repeat {
            let query =
                "/site-media/v1/folders?paging.limit=3&sort.fieldName=displayName&sort.order=ASC"
                + (cursor.isEmpty
                    ? ""
                    : "&paging.cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            let page = try await Self.call(emulator, "GET", query)
            seen += (page["folders"] as? [[String: Any]] ?? []).compactMap { $0["displayName"] as? String }
            let next = page["nextCursor"] as? [String: Any]
            cursor =
                (next?["hasNext"] as? Bool == true)
                ? (next?["cursors"] as? [String: Any])?["next"] as? String ?? "" : ""
        } while !cursor.isEmpty
        #expect(seen == (0..<7).map { "album \($0)" })
        #expect(Set(try await client.listFolders(in: "media-root").map(\.id)) == Set(made))

        let found = try await Self.call(emulator, "POST", "/site-media/v1/folders/search", #"{"search": "ALBUM 3"}"#)
        #expect((found["folders"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [made[3]])
        let invalid = try await Self.call(emulator, "POST", "/site-media/v1/folders", #"{"displayName": ""}"#)
        #expect(invalid[path: "details", "validationError"] != nil)

        _ = try await Self.call(
            emulator, "POST", "/site-media/v1/bulk/folders/delete", #"{"folderIds": ["\#(made[0])"]}"#)
        #expect(try await client.listFolders(in: "media-root").count == 6)
        let trash = try await Self.call(
            emulator, "POST", "/site-media/v1/folders/search", #"{"rootFolder": "TRASH_ROOT"}"#)
        #expect((trash["folders"] as? [[String: Any]])?.count == 1)
        let files = try await client.searchFiles()
        #expect(files.files.isEmpty && files.next == nil)
    }

    @Test("the same path from two clients at once, behind latency: one folder per name, both clients agree")
    func twoClientsAtOnce() async throws {
        let (_, one, two) = try await Self.start(latency: 80)
        let path = ["Takeout", "Google Photos", "Trip to Paris", "Day 2"]
        async let a = one.folder(path, under: "media-root", create: true)
        async let b = two.folder(path, under: "media-root", create: true)
        let (first, second) = try await (a, b)
        #expect(first != nil && first == second)
        var parent = "media-root"
        for name in path {
            let named = try await one.listFolders(in: parent).filter { $0.displayName == name }
            #expect(named.count == 1, "\(name)")
            parent = try #require(named.first?.id)
        }
        #expect(parent == first)
    }

    @Test("a folder another client made after this one listed: this one's own copy is deleted, the earlier one used")
    func staleListing() async throws {
        let (_, one, two) = try await Self.start()
        // One lists media-root (and caches it); the other then makes "Albums"; one, not knowing, makes its own.
        _ = try await one.folder(["Other"], under: "media-root", create: true)
        let earlier = try await two.createFolder(named: "Albums", in: "media-root")
        let chosen = try await one.folder(["Albums"], under: "media-root", create: true)
        #expect(chosen == earlier.id)
        let albums = try await two.listFolders(in: "media-root").filter { $0.displayName == "Albums" }
        #expect(albums.map(\.id) == [earlier.id], "the later copy is gone")
        // Without create, a missing path is nil, and nothing is made.
        #expect(try await one.folder(["Albums", "missing"], under: "media-root", create: false) == nil)
        #expect(try await one.listFolders(in: earlier.id).isEmpty)
    }
}

extension [String: Any] {
    subscript(path keys: String...) -> Any? {
        var current: Any? = self
        for key in keys { current = (current as? [String: Any])?[key] }
        return current
    }
}
