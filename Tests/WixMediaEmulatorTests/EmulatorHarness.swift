import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing
import WixMediaEmulator

/// An emulator started in this process on a free port, with its own data folder, and a small HTTP helper over
/// async-http-client that speaks to it like a client would.
struct EmulatorFixture {
    static let apiKey = "test-api-key"
    static let siteID = "test-site"

    let emulator: RunningEmulator
    let dataDirectory: String
    var base: String { emulator.baseURL }

    static func start(
        dataDirectory: String? = nil, _ configure: (inout EmulatorConfiguration) -> Void = { _ in }
    ) async throws -> EmulatorFixture {
        let directory =
            dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("emulator-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: apiKey, siteID: siteID, dataDirectory: directory, port: 0)
        configuration.mediaProcessingDelay = .milliseconds(300)
        configure(&configuration)
        let fixture = EmulatorFixture(
            emulator: try await WixMediaEmulator.start(configuration), dataDirectory: directory)
        TestCleanup.mustRegister { await fixture.stop() }
        return fixture
    }

    func stop(removeData: Bool = true) async {
        await emulator.stop()
        if removeData { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }

    static let authHeaders = ["Authorization": apiKey, "wix-site-id": siteID]

    /// A finished exchange: status, headers and the body parsed as JSON when it is JSON.
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        /// `details.applicationError.code` of a Wix error body.
        var errorCode: String? {
            ((json["details"] as? [String: Any])?["applicationError"] as? [String: Any])?["code"] as? String
        }
        /// The `field` of each `details.validationError.fieldViolations` entry.
        var violatedFields: [String] {
            (((json["details"] as? [String: Any])?["validationError"] as? [String: Any])?["fieldViolations"]
                as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        }
        var file: [String: Any] { json["file"] as? [String: Any] ?? [:] }
    }

    func send(
        _ method: HTTPMethod, _ pathOrURL: String, headers: [String: String] = authHeaders, json: Any? = nil,
        body: Data? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: pathOrURL.hasPrefix("http") ? pathOrURL : base + pathOrURL)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer.readableBytesView))
    }

    /// The two documented calls: generate-upload-url, then PUT the bytes with `?filename=`.
    func upload(
        _ data: Data, mimeType: String, fileName: String, extra: [String: Any] = [:], contentType: String? = nil
    ) async throws -> Reply {
        var request: [String: Any] = ["mimeType": mimeType, "fileName": fileName, "sizeInBytes": String(data.count)]
        request.merge(extra) { _, new in new }
        let generated = try await send(.POST, "/site-media/v1/files/generate-upload-url", json: request)
        guard generated.status == 200, let url = generated.json["uploadUrl"] as? String else { return generated }
        return try await send(
            .PUT, url + "?filename=" + fileName, headers: ["Content-Type": contentType ?? mimeType], body: data)
    }

    /// The admin listing.
    func storedFiles() async throws -> [[String: Any]] {
        try await send(.GET, "/_emulator/files", headers: [:]).json["files"] as? [[String: Any]] ?? []
    }

    /// Polls get-file-by-id until the file leaves PENDING (or 20 s pass).
    func awaitProcessed(_ id: String) async throws -> [String: Any] {
        for _ in 0..<200 {
            let file = try await send(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(id)").file
            if file["operationStatus"] as? String != "PENDING" { return file }
            try await Task.sleep(for: .milliseconds(100))
        }
        return [:]
    }
}

func corpusData(_ relative: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: Corpus.path(relative))) }

func md5sum(_ data: Data) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("md5-\(UUID().uuidString)").path
    try data.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return String(try runProcess("/usr/bin/md5sum", [path]).stdout.prefix(32))
}
