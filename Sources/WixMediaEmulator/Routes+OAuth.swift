import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// An OAuth access token the emulator issues: an HS256 JWT naming the app instance, valid for
/// ``EmulatorConfiguration/accessTokenLifetime``.
struct AccessToken: Codable, Sendable {
    var iss = "urn:app:wix-media-emulator"
    var kind = "access"
    var appId: String
    var instanceId: String
    var iat: Int64
    var exp: Int64
    var jti: String

    func encoded(secret: SymmetricKey) throws -> String {
        let header = UploadToken.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let signingInput = header + "." + UploadToken.base64URL(try encoder.encode(self))
        return signingInput + "."
            + UploadToken.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: secret)))
    }

    /// The token's claims when its signature holds, it is an access token and it has not expired.
    static func valid(_ text: String, secret: SymmetricKey, now: Date) -> AccessToken? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = UploadToken.data(base64URL: String(parts[2])),
            let payload = UploadToken.data(base64URL: String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(
                signature, authenticating: Data((parts[0] + "." + parts[1]).utf8), using: secret),
            let claims = try? JSONDecoder().decode(AccessToken.self, from: payload), claims.kind == "access",
            Int64(now.timeIntervalSince1970) < claims.exp
        else { return nil }
        return claims
    }
}

extension EmulatorRoutes {
    /// `/oauth2`: Create Access Token (OAuth client credentials: `grant_type`, `client_id`, `client_secret`,
    /// `instance_id`) → `{access_token, token_type: "Bearer", expires_in}`.
    func oauthRoutes() -> RouteCollection<EmulatorRequestContext> {
        let oauth = RouteCollection(context: EmulatorRequestContext.self)
        oauth.post("token") { request, context in
            var fields = FieldReader(try await jsonObject(request, context))
            let grant = fields.string("grant_type", required: true, maxLength: 50)
            let client = fields.string("client_id", required: true, maxLength: 200)
            let secret = fields.string("client_secret", required: true, maxLength: 500)
            let instance = fields.string("instance_id", required: true, maxLength: 200)
            guard fields.violations.isEmpty else { throw WixError.invalid(fields.violations) }
            guard grant == "client_credentials" else {
                throw WixError.invalid(field: "grant_type", "must be client_credentials", rule: "ENUM")
            }
            guard client == configuration.appID, secret == configuration.appSecret else {
                throw WixError.unauthenticated("Invalid app id or app secret")
            }
            guard instance == configuration.instanceID else {
                throw WixError(
                    status: .notFound, message: "The app is not installed as instance \(instance ?? "")",
                    code: "INSTANCE_NOT_FOUND")
            }
            let now = Int64(Date().timeIntervalSince1970)
            let lifetime = Int64(configuration.accessTokenLifetime.seconds)
            let token = AccessToken(
                appId: configuration.appID, instanceId: configuration.instanceID, iat: now, exp: now + lifetime,
                jti: UUID().uuidString)
            return json([
                "access_token": try token.encoded(secret: store.signingKey), "token_type": "Bearer",
                "expires_in": lifetime,
            ])
        }
        return oauth
    }
}

/// Checks `Authorization` on the Wix API paths (§7): the raw API key (or `Bearer <key>`) with `wix-site-id`, or
/// an OAuth access token issued by `/oauth2/token`, which names its app instance and needs no site id.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let configuration: EmulatorConfiguration
    let store: EmulatorStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path.hasPrefix("/site-media/") else { return try await next(request, context) }
        guard var token = request.headers[.authorization], !token.isEmpty else {
            throw WixError.unauthenticated("Missing Authorization header")
        }
        if token.lowercased().hasPrefix("bearer ") { token = String(token.dropFirst(7)) }
        if token != configuration.apiKey {
            guard AccessToken.valid(token, secret: store.signingKey, now: Date()) != nil else {
                throw WixError.unauthenticated("Invalid API key or access token")
            }
            return try await next(request, context)
        }
        let site = request.headers[HTTPField.Name("wix-site-id")!]
        let account = request.headers[HTTPField.Name("wix-account-id")!]
        if site != nil && account != nil {
            throw WixError.permissionDenied("Send either wix-site-id or wix-account-id, not both")
        }
        guard let site, !site.isEmpty else {
            throw WixError.permissionDenied("Media Manager APIs are site-level: the wix-site-id header is required")
        }
        guard site == configuration.siteID else {
            throw WixError.permissionDenied("The API key has no access to site \(site)")
        }
        return try await next(request, context)
    }
}
