import AsyncHTTPClient
import Foundation
import Glibc
import MediaIngest
import NIOCore
import NIOHTTP1

/// What one cheap authenticated call said (`ingest doctor`).
public struct WixProbe: Sendable {
    /// The HTTP status.
    public var status: Int
    /// Wix's error code and message, for a refusal.
    public var code: String?
    public var message: String?
    /// The server's `Date` header.
    public var serverDate: Date?
    /// When the answer arrived, here.
    public var localDate: Date
}

extension WixMediaClient {
    /// One List Folders call (`GET /site-media/v1/folders?parentFolderId=media-root&paging.limit=1`), authenticated as
    /// every call is and sent once — no retry, no pacing — to see whether the credentials are accepted and how far the
    /// clocks are apart. It reads; it creates nothing.
    /// - Throws: ``WixClientError`` when there is no answer (the network, a refused OAuth token request).
    public func probe() async throws -> WixProbe {
        var request = HTTPClientRequest(
            url: baseURL + "/site-media/v1/folders?parentFolderId=media-root&paging.limit=1")
        request.method = .GET
        for (header, value) in try await authorizer.headers() { request.headers.add(name: header, value: value) }
        request.headers.add(name: "Accept", value: "application/json")
        let (status, headers, body) = try await send(request, describe: "GET /site-media/v1/folders")
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        return WixProbe(
            status: status, code: json?["details"]?["applicationError"]?["code"]?.stringValue,
            message: json?["message"]?.stringValue,
            serverDate: headers.first(name: "Date").flatMap(Self.httpDate), localDate: Date())
    }

    /// An HTTP `Date` (RFC 9110 IMF-fixdate: `Wed, 03 Dec 2026 11:31:12 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let words = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard words.count == 6, words[5] == "GMT", let day = Int32(words[1]),
            let month = months.firstIndex(of: String(words[2])), let year = Int32(words[3])
        else { return nil }
        let time = words[4].split(separator: ":").compactMap { Int32($0) }
        guard time.count == 3 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = Int32(month)
        parts.tm_mday = day
        parts.tm_hour = time[0]
        parts.tm_min = time[1]
        parts.tm_sec = time[2]
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
