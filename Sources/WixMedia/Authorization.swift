import AsyncHTTPClient
import Foundation
import MediaIngest
import NIOCore
import NIOHTTP1

/// How calls to the Wix API are authorized.
public enum WixAuthorization: Sendable, Hashable {
    /// An API key (Wix's "API Keys" page) with a site id: `Authorization: <key>` and `wix-site-id`. For your own
    /// sites, scripts and servers.
    case apiKey(key: String, siteID: String)
    /// A Wix app's OAuth client credentials: an access token from `POST /oauth2/token` (client credentials grant:
    /// app id, app secret, the app's instance id on the site), refreshed before it expires. For apps installed on
    /// sites you do not own.
    case oauth(appID: String, appSecret: String, instanceID: String)

    /// A stable, non-secret name for the credentials (what a shared connection is keyed by).
    public var identity: String {
        switch self {
        case .apiKey(let key, let siteID): return "key:\(Self.fingerprint(key)):\(siteID)"
        case .oauth(let appID, _, let instanceID): return "app:\(appID):\(instanceID)"
        }
    }

    static func fingerprint(_ secret: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in secret.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return String(hash, radix: 16)
    }
}

/// Turns ``WixAuthorization`` into request headers, fetching and refreshing OAuth access tokens (one request for all
/// callers, renewed a minute before `expires_in` runs out, or at once when Wix answers 401).
actor WixAuthorizer {
    let authorization: WixAuthorization
    let baseURL: String
    let http: HTTPClient
    private var token: (value: String, expires: ContinuousClock.Instant)?
    private var pending: Task<(String, Duration), any Error>?

    init(_ authorization: WixAuthorization, baseURL: String, http: HTTPClient) {
        self.authorization = authorization
        self.baseURL = baseURL
        self.http = http
    }

    /// The headers that authorize an API call.
    func headers() async throws -> [(String, String)] {
        switch authorization {
        case .apiKey(let key, let siteID):
            return [("Authorization", key), ("wix-site-id", siteID)]
        case .oauth:
            return [("Authorization", try await accessToken())]
        }
    }

    /// Forgets the current token (Wix refused it); the next call fetches a new one.
    func invalidate() {
        token = nil
    }

    private func accessToken() async throws -> String {
        if let token, token.expires > .now + .seconds(60) { return token.value }
        if let pending { return try await pending.value.0 }
        let task = Task { try await self.fetch() }
        pending = task
        defer { pending = nil }
        let (value, lifetime) = try await task.value
        token = (value, .now + lifetime)
        return value
    }

    private func fetch() async throws -> (String, Duration) {
        guard case .oauth(let appID, let appSecret, let instanceID) = authorization else {
            throw WixClientError.malformedResponse("not OAuth")
        }
        var request = HTTPClientRequest(url: baseURL + "/oauth2/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: JSONValue = [
            "grant_type": "client_credentials", "client_id": .string(appID), "client_secret": .string(appSecret),
            "instance_id": .string(instanceID),
        ]
        request.body = .bytes(ByteBuffer(string: body.jsonText()))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(30))
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw WixClientError.transport("POST /oauth2/token: \(error)")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            // Wrong app id or secret, or an instance that is not installed: no call can succeed.
            throw WixClientError.http(
                status: status == 400 ? 401 : status, code: nil,
                message: "Wix refused the OAuth client credentials (HTTP \(status))", retryAfter: nil, host: .api)
        }
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))
        guard let value = json?["access_token"]?.stringValue, !value.isEmpty else {
            throw WixClientError.malformedResponse("the token answer has no access_token")
        }
        let seconds = json?["expires_in"]?.intValue ?? 14_400
        return (value, .seconds(max(120, seconds)))
    }
}
