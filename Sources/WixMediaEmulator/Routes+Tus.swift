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
    // MARK: tus 1.0.0 (§3; https://tus.io/protocols/resumable-upload)

    static let tusHeaders: HTTPFields = [.tusResumable: "1.0.0"]

    func tusOptions() -> Response {
        var headers = Self.tusHeaders
        headers[.tusVersion] = "1.0.0"
        headers[.tusExtension] = "creation,termination"
        headers[.tusMaxSize] = String(configuration.maxUploadBytes)
        return Response(status: .noContent, headers: headers)
    }

    func checkTusVersion(_ request: Request) throws {
        guard request.headers[.tusResumable] == "1.0.0" else {
            var error = WixError(
                status: .preconditionFailed, message: "Tus-Resumable: 1.0.0 is required",
                code: "TUS_VERSION_UNSUPPORTED")
            error.headers[.tusVersion] = "1.0.0"
            throw error
        }
    }

    /// tus `Upload-Metadata`: comma-separated `key base64value` pairs.
    static func tusMetadata(_ header: String?) -> [String: String] {
        var metadata: [String: String] = [:]
        for pair in (header ?? "").split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first else { continue }
            let value =
                parts.count > 1
                ? Data(base64Encoded: String(parts[1])).map { String(decoding: $0, as: UTF8.self) } ?? "" : ""
            metadata[String(key)] = value
        }
        return metadata
    }

    func tusCreate(_ request: Request) async throws -> Response {
        try checkTusVersion(request)
        if request.headers[.uploadDeferLength] != nil {
            throw WixError(
                status: .badRequest, message: "Upload-Defer-Length is not supported; send Upload-Length",
                code: "TUS_DEFER_UNSUPPORTED")
        }
        guard let lengthText = request.headers[.uploadLength], let length = Int64(lengthText), length >= 0 else {
            throw WixError(status: .badRequest, message: "Upload-Length is required", code: "TUS_LENGTH_REQUIRED")
        }
        guard length <= configuration.maxUploadBytes else {
            throw WixError(
                status: .contentTooLarge, message: "Upload-Length exceeds Tus-Max-Size \(configuration.maxUploadBytes)",
                code: "FILE_TOO_LARGE")
        }
        let metadata = Self.tusMetadata(request.headers[.uploadMetadata])
        guard let tokenText = metadata["token"], !tokenText.isEmpty else {
            throw WixError.unauthenticated("Upload-Metadata must carry the uploadToken as `token`")
        }
        let token = try await decodeToken(tokenText, expectTus: true)
        try await spend(token, for: "create")
        if let existing = await store.upload(forToken: tokenText), existing.finalizedFileId != nil {
            throw WixError(status: .conflict, message: "This upload token was already used", code: "ALREADY_EXISTS")
        }
        let upload = TusUpload(
            id: EmulatorStore.hexID(), token: tokenText, length: length, metadata: metadata, createdDate: Date(),
            finalizedFileId: nil)
        _ = token
        guard FileManager.default.createFile(atPath: store.partialPath(upload.id), contents: nil) else {
            throw WixError(status: .internalServerError, message: "Cannot create the upload's file", code: "INTERNAL")
        }
        try await store.put(upload)
        var headers = Self.tusHeaders
        // `--relative-tus-location`: tus allows a relative Location; the strict reading sends a relative-path
        // reference ("tus/<id>", resolved against the creation URL .../upload/tus per RFC 3986).
        headers[.location] =
            await faults.settings.relativeTusLocation ? "tus/\(upload.id)" : "\(base.url)/upload/tus/\(upload.id)"
        return Response(status: .created, headers: headers)
    }

    func tusUpload(_ context: EmulatorRequestContext) async throws -> TusUpload {
        let id = try context.parameters.require("id")
        guard let upload = await store.upload(id) else {
            throw WixError(
                status: .notFound, message: "Upload \(id) not found", code: "NOT_FOUND", headers: Self.tusHeaders)
        }
        _ = try await decodeToken(upload.token, expectTus: true)
        return upload
    }

    func tusHead(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        let upload = try await tusUpload(context)
        var headers = Self.tusHeaders
        headers[.uploadOffset] = String(fileSize(store.partialPath(upload.id)))
        headers[.uploadLength] = String(upload.length)
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers)
    }

    func tusPatch(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        guard request.headers[.contentType]?.lowercased() == "application/offset+octet-stream" else {
            throw WixError(
                status: .unsupportedMediaType, message: "PATCH needs Content-Type: application/offset+octet-stream",
                code: "TUS_CONTENT_TYPE", headers: Self.tusHeaders)
        }
        let upload = try await tusUpload(context)
        guard let offsetText = request.headers[.uploadOffset], let offset = Int64(offsetText) else {
            throw WixError(
                status: .badRequest, message: "Upload-Offset is required", code: "TUS_OFFSET_REQUIRED",
                headers: Self.tusHeaders)
        }
        guard upload.finalizedFileId == nil else {
            throw WixError(
                status: .conflict, message: "The upload was already finalized", code: "ALREADY_EXISTS",
                headers: Self.tusHeaders)
        }
        guard await store.beginPatch(upload.id) else {
            throw WixError(
                status: .conflict, message: "Another PATCH for this upload is in progress", code: "TUS_LOCKED",
                headers: Self.tusHeaders)
        }
        let path = store.partialPath(upload.id)
        do {
            let current = fileSize(path)
            guard offset == current else {
                throw WixError(
                    status: .conflict, message: "Upload-Offset \(offset) does not match the server's offset \(current)",
                    code: "TUS_OFFSET_MISMATCH", headers: Self.tusHeaders)
            }
            var writer = try BlobWriter(appendingTo: path, size: current, continuing: await store.tusDigest(upload.id))
            let remaining = upload.length - current
            let chunk = request.headers[.contentLength].flatMap { Int64($0) }
            if let chunk, chunk > remaining {
                throw WixError(
                    status: .contentTooLarge, message: "The chunk goes past Upload-Length", code: "TUS_LENGTH_EXCEEDED",
                    headers: Self.tusHeaders)
            }
            if await faults.settings.tusChunkMultiple, let chunk, chunk < remaining,
                (offset + chunk) % (256 * 1024) != 0
            {
                throw WixError(
                    status: .badRequest,
                    message: "A PATCH that does not end the upload must end on a multiple of 256 KiB",
                    code: "TUS_CHUNK_ALIGNMENT", headers: Self.tusHeaders)
            }
            let resetAt = await faults.resetPoint(expectedBytes: chunk ?? remaining)
            for try await buffer in request.body {
                if let resetAt, writer.count + Int64(buffer.readableBytes) > resetAt {
                    // The bytes received before the reset stay: tus servers keep partial PATCH data so clients resume.
                    try writer.write(
                        buffer.getSlice(at: buffer.readerIndex, length: Int(max(0, resetAt - writer.count)))
                            ?? ByteBuffer())
                    await store.setTusDigest(upload.id, try? writer.finishPartial())
                    await resetConnection(context.channel)
                    throw ConnectionResetFault()
                }
                guard writer.count + Int64(buffer.readableBytes) <= remaining else {
                    throw WixError(
                        status: .contentTooLarge, message: "The chunk goes past Upload-Length",
                        code: "TUS_LENGTH_EXCEEDED", headers: Self.tusHeaders)
                }
                try writer.write(buffer)
            }
            await store.setTusDigest(upload.id, try writer.finishPartial())
            await store.endPatch(upload.id)
        } catch {
            await store.endPatch(upload.id)
            throw error
        }
        var headers = Self.tusHeaders
        headers[.uploadOffset] = String(fileSize(path))
        return Response(status: .noContent, headers: headers)
    }

    func tusDelete(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        let upload = try await tusUpload(context)
        await store.removeUpload(upload.id)
        return Response(status: .noContent, headers: Self.tusHeaders)
    }

    /// `PUT {uploadUrl}/{uploadToken}?filename=…` (§3 step 3): turns a complete tus upload into a file. Idempotent:
    /// finalizing twice returns the same descriptor.
    func tusFinalize(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let tokenText = try context.parameters.require("id")
        let token = try await decodeToken(tokenText, expectTus: true)
        guard var upload = await store.upload(forToken: tokenText) else {
            throw WixError(
                status: .badRequest, message: "No tus upload was created with this token", code: "UPLOAD_NOT_FOUND")
        }
        try await spend(token, for: "finalize")
        if let fileID = upload.finalizedFileId, let file = await store.file(fileID) {
            return json(["file": await fileRenderer().file(file, now: Date())])
        }
        let path = store.partialPath(upload.id)
        let received = fileSize(path)
        guard received == upload.length else {
            throw WixError(
                status: .badRequest,
                message: "The upload is incomplete: \(received) of \(upload.length) bytes received",
                code: "UPLOAD_INCOMPLETE")
        }
        let digest =
            try await store.tusDigest(upload.id).flatMap { $0.count == received ? $0.finalized() : nil }
            ?? hashFile(path)
        let fileName = request.uri.queryParameters.get("filename") ?? upload.metadata["filename"]
        let contentType = upload.metadata["contentType"] ?? upload.metadata["filetype"]
        let file = try await storeUpload(
            token: token, from: path, digest: digest, contentType: contentType, fileName: fileName)
        upload.finalizedFileId = file.id
        try await store.put(upload)
        try await maybeLoseResponse(context)
        return json(["file": await fileRenderer().file(file, now: Date())])
    }

}
