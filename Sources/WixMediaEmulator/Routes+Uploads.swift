import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MediaFormats
import NIOCore
import NIOHTTP1
import NIOPosix

extension EmulatorRoutes {
    /// `/upload`: the plain PUT and tus (creation, HEAD, PATCH, DELETE, finalize).
    func uploadRoutes() -> RouteCollection<EmulatorRequestContext> {
        let upload = RouteCollection(context: EmulatorRequestContext.self)
        upload.put("{token}") { request, context in try await putUpload(request, context) }
        upload.on("tus", method: .options) { _, _ in tusOptions() }
        upload.post("tus") { request, _ in try await tusCreate(request) }
        upload.head("tus/{id}") { request, context in try await tusHead(request, context) }
        upload.patch("tus/{id}") { request, context in try await tusPatch(request, context) }
        upload.delete("tus/{id}") { request, context in try await tusDelete(request, context) }
        // tus resources and the finalize step share the path shape; for PUT the last segment is the upload token.
        upload.put("tus/{id}") { request, context in try await tusFinalize(request, context) }
        return upload
    }

    // MARK: Plain upload (§2)

    func decodeToken(_ text: String, expectTus: Bool) async throws -> UploadToken {
        let token: UploadToken
        // `--plain-expired-403`: Wix documents no body for upload-host errors; the strict reading gives none.
        let plain = await faults.settings.plainExpiredResponse
        func refused(_ message: String, code: String) -> WixError {
            plain
                ? WixError(status: .forbidden, message: "Forbidden", code: nil)
                : WixError(status: .forbidden, message: message, code: code)
        }
        switch Result(catching: { () throws(UploadToken.Problem) in
            try UploadToken.decode(text, secret: store.signingKey, now: Date())
        }) {
        case .success(let decoded):
            token = decoded
        case .failure(.expired):
            throw refused("The upload URL has expired; generate a new one", code: "UPLOAD_URL_EXPIRED")
        case .failure(.badSignature):
            throw refused("The upload token's signature is invalid", code: "INVALID_UPLOAD_TOKEN")
        case .failure(.malformed):
            throw refused("The upload token is malformed", code: "INVALID_UPLOAD_TOKEN")
        }
        guard (token.protocol == "tus") == expectTus else {
            throw WixError.permissionDenied(
                expectTus
                    ? "This is not a resumable upload token"
                    : "Resumable upload tokens must be used with the tus endpoint")
        }
        return token
    }

    /// `--single-use-urls`: a token (upload URL or tus token) works for one `use` ("put", "create", "finalize"); the
    /// second gets 429 in Wix's error shape with no application code ("a previously used one-time-token").
    func spend(_ token: UploadToken, for use: String) async throws {
        guard await faults.settings.singleUseUploadURLs else { return }
        guard await store.useToken(use + ":" + token.jti) else {
            throw WixError(status: .tooManyRequests, message: "a previously used one-time-token", code: nil)
        }
    }

    /// `--lost-response-rate`: the upload is stored, then the connection drops before the answer.
    func maybeLoseResponse(_ context: EmulatorRequestContext) async throws {
        guard await faults.responseLost() else { return }
        await resetConnection(context.channel)
        throw ConnectionResetFault()
    }

    func putUpload(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let token = try await decodeToken(try context.parameters.require("token"), expectTus: false)
        try await spend(token, for: "put")
        let temporary = store.partialPath("put-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let expected = request.headers[.contentLength].flatMap { Int64($0) }
        if let expected, expected > configuration.maxUploadBytes {
            throw WixError(
                status: .contentTooLarge,
                message: "The body is larger than the emulator's limit of \(configuration.maxUploadBytes) bytes",
                code: "FILE_TOO_LARGE")
        }
        var writer = try BlobWriter(path: temporary)
        let resetAt = await faults.resetPoint(expectedBytes: expected)
        try await receive(request.body, into: &writer, resetAt: resetAt, context: context)
        let written = try writer.finish()
        let contentType = request.headers[.contentType]
        let file = try await storeUpload(
            token: token, from: temporary, digest: written, contentType: contentType,
            fileName: request.uri.queryParameters.get("filename"))
        try await maybeLoseResponse(context)
        return json(["file": await fileRenderer().file(file, now: Date())])
    }

    /// Streams a body into `writer`, resetting the connection after `resetAt` bytes when a fault asks for it.
    func receive(
        _ body: RequestBody, into writer: inout BlobWriter, resetAt: Int64?, context: EmulatorRequestContext
    ) async throws {
        for try await buffer in body {
            if let resetAt, writer.count + Int64(buffer.readableBytes) > resetAt {
                let keep = Int(max(0, resetAt - writer.count))
                try writer.write(buffer.getSlice(at: buffer.readerIndex, length: keep) ?? ByteBuffer())
                await resetConnection(context.channel)
                throw ConnectionResetFault()
            }
            try writer.write(buffer)
            if writer.count > configuration.maxUploadBytes {
                throw WixError(
                    status: .contentTooLarge, message: "The body is larger than the emulator's limit",
                    code: "FILE_TOO_LARGE")
            }
        }
    }

    /// Sends a TCP RST (SO_LINGER 0, then close), as a dropped mobile connection or a proxy timeout would.
    func resetConnection(_ channel: any Channel) async {
        if let provider = channel as? any SocketOptionProvider {
            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    /// Turns received bytes into a stored file: display name, MIME (the token's, or sniffed for octet-stream),
    /// content check, dimensions, processing schedule.
    func storeUpload(
        token: UploadToken, from path: String, digest: (md5: String, sha256: String, count: Int64, head: [UInt8]),
        contentType: String?, fileName: String?
    ) async throws -> StoredFile {
        let now = Date()
        let name = Self.displayName(fileName ?? token.fileName ?? token.fileId)
        var mime = token.mimeType
        let declared = contentType?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        if token.mimeType == "application/octet-stream" || declared == "application/octet-stream" {
            mime = MediaKinds.sniff(digest.head) ?? MediaKinds.mime(forFileName: name) ?? token.mimeType
        }
        var file = StoredFile(
            id: token.fileId, displayName: name, parentFolderId: token.parentFolderId, mimeType: mime,
            mediaType: MediaKinds.mediaType(for: mime),
            hash: digest.md5, sha256: digest.sha256, sizeInBytes: digest.count, isPrivate: token.private,
            labels: token.labels, siteId: token.siteId,
            createdDate: now, updatedDate: now, sourceUrl: nil, width: nil, height: nil, state: "OK", readyAt: nil,
            outcome: "READY", failureReason: nil,
            externalOrigin: token.externalOrigin, externalIds: token.externalIds, blob: token.fileId,
            notified: configuration.webhookURL == nil)
        if let existing = await store.file(token.fileId) { file.createdDate = existing.createdDate }
        try FileManager.default.moveItemReplacing(at: path, to: store.blobPath(token.fileId))
        await finishProcessing(&file, head: digest.head, now: now)
        try await store.put(file)
        return file
    }

    /// Schedules the end of processing: READY or FAILED after the configured delay for the file's media type.
    func finishProcessing(_ file: inout StoredFile, head: [UInt8], now: Date) async {
        if let info = try? ImageHeaders.inspect(FileBytes(path: store.blobPath(file.id))) {
            file.width = info.size.width
            file.height = info.size.height
        }
        let delay: Duration =
            switch file.mediaType {
            case "IMAGE", "VECTOR": configuration.imageProcessingDelay
            case "VIDEO", "AUDIO": configuration.mediaProcessingDelay
            default: configuration.otherProcessingDelay
            }
        file.readyAt = now.addingTimeInterval(delay.seconds)
        if file.sizeInBytes == 0 {
            file.outcome = "FAILED"
            file.failureReason = "the file is empty"
        } else if let mismatch = MediaKinds.mismatch(declared: file.mimeType, head: head) {
            file.outcome = "FAILED"
            file.failureReason = mismatch
        } else if await faults.processingFails() {
            file.outcome = "FAILED"
            file.failureReason = "processing failed (injected fault)"
        } else {
            file.outcome = "READY"
        }
    }

    /// A display name from a client-supplied name: no folders, no control characters, at most 200 characters.
    static func displayName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? name
        let clean = String(
            last.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.map(Character.init))
        return clean.isEmpty ? "file" : String(clean.prefix(200))
    }

}
