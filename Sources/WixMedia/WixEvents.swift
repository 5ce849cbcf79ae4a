import Crypto
import Foundation
import MediaIngest
import _CryptoExtras

/// One File Ready or File Failed event (§6 of the API facts), as Wix delivers it to a webhook: a JWT signed RS256
/// with the app's key, whose payload's `data` is the stringified envelope `{instanceId, eventType, identity, data}`,
/// whose `data` in turn is the stringified domain event `{id, slug, entityId, actionEvent: {body}}`.
public struct WixFileEvent: Sendable, Hashable {
    /// The event's own id (a delivery repeated by Wix carries the same one).
    public var id: String
    /// `true` for File Ready, `false` for File Failed.
    public var isReady: Bool
    /// The file id (`entityId`).
    public var fileID: String
    /// File Ready's descriptor (File Failed carries none).
    public var file: FileDescriptor?
    /// `externalInfo.externalIds` as the upload set them.
    public var externalIDs: [String]

    public init(id: String, isReady: Bool, fileID: String, file: FileDescriptor?, externalIDs: [String]) {
        self.id = id
        self.isReady = isReady
        self.fileID = fileID
        self.file = file
        self.externalIDs = externalIDs
    }
}

/// Why a webhook request was refused (logged; the request changes nothing).
public struct WixEventRefusal: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Verifies webhook JWTs the way Wix signs them — RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with the app's public key —
/// and reads the file event inside. Nothing in a body is trusted before its signature is checked.
public struct WixEventVerifier: Sendable {
    let key: _RSA.Signing.PublicKey

    /// - Parameter publicKeyPEM: the app's public key (`-----BEGIN PUBLIC KEY-----`), as Wix shows it for the app.
    public init(publicKeyPEM: String) throws {
        do {
            key = try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM)
        } catch {
            throw WixEventRefusal(reason: "not an RSA public key in PEM form: \(error)")
        }
    }

    /// The event in `jwt`, or a refusal naming why (bad shape, another algorithm, a bad signature, not a file event).
    public func event(_ jwt: String) throws(WixEventRefusal) -> WixFileEvent? {
        let parts = jwt.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.base64URL(parts[0]), let payloadData = Self.base64URL(parts[1]),
            let signature = Self.base64URL(parts[2])
        else { throw WixEventRefusal(reason: "not a JWT (three base64url parts)") }
        guard let header = try? JSONDecoder().decode(JSONValue.self, from: headerData),
            header["alg"]?.stringValue == "RS256"
        else { throw WixEventRefusal(reason: "the JWT is not signed RS256") }
        let signingInput = Data((parts[0] + "." + parts[1]).utf8)
        guard
            key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: signingInput,
                padding: .insecurePKCS1v1_5)
        else { throw WixEventRefusal(reason: "bad signature") }
        guard let payload = try? JSONDecoder().decode(JSONValue.self, from: payloadData),
            let envelope = Self.nested(payload["data"]), let event = Self.nested(envelope["data"])
        else { throw WixEventRefusal(reason: "the payload is not Wix's event envelope") }
        let eventType = envelope["eventType"]?.stringValue ?? ""
        guard eventType.hasPrefix("wix.media.site_media.v1.file_descriptor_") else { return nil }
        let slug =
            event["slug"]?.stringValue ?? String(eventType.dropFirst("wix.media.site_media.v1.file_descriptor_".count))
        guard slug == "file_ready" || slug == "file_failed" else { return nil }
        guard let id = event["id"]?.stringValue, let fileID = event["entityId"]?.stringValue else {
            throw WixEventRefusal(reason: "a file event without an id or entityId")
        }
        let body = event["actionEvent"]?["body"]
        let file = try? body?["file"].map { try FileDescriptor(json: $0) }
        return WixFileEvent(
            id: id, isReady: slug == "file_ready", fileID: fileID, file: file ?? nil,
            externalIDs: body?["externalInfo"]?["externalIds"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// A JSON value given as a JSON string (Wix stringifies each level).
    static func nested(_ value: JSONValue?) -> JSONValue? {
        if let text = value?.stringValue { return try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
        if case .object = value { return value }
        return nil
    }

    static func base64URL(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}
