import Crypto
import Foundation

/// A signed, expiring upload token: a compact JWT (HS256) like the ones Wix issues, signed with the emulator's
/// secret. The claims carry everything the upload needs, so the PUT needs no other state.
struct UploadToken: Sendable, Codable, Hashable {
    var jti: String
    var aud: String
    var iss: String
    var iat: Int64
    var exp: Int64
    /// `media/<fileId>`.
    var path: String
    var fileId: String
    var mimeType: String
    var fileName: String?
    var sizeInBytes: String?
    var parentFolderId: String
    var filePath: String?
    var labels: [String]
    var `private`: Bool
    var externalOrigin: String?
    var externalIds: [String]?
    var siteId: String
    var acl: String
    /// `tus` for resumable uploads.
    var `protocol`: String?

    /// Why a token is refused.
    enum Problem: Error {
        case malformed
        case badSignature
        case expired
    }

    func encoded(secret: SymmetricKey) throws -> String {
        let header = Self.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Self.base64URL(try encoder.encode(self))
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: secret)
        return signingInput + "." + Self.base64URL(Data(signature))
    }

    static func decode(_ token: String, secret: SymmetricKey, now: Date) throws(Problem) -> UploadToken {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = data(base64URL: String(parts[2])),
            let payload = data(base64URL: String(parts[1]))
        else {
            throw .malformed
        }
        let signingInput = Data((parts[0] + "." + parts[1]).utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: secret) else {
            throw .badSignature
        }
        guard let claims = try? JSONDecoder().decode(UploadToken.self, from: payload) else { throw .malformed }
        guard Int64(now.timeIntervalSince1970) < claims.exp else { throw .expired }
        return claims
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
