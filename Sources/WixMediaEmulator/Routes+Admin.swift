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
import _CryptoExtras

extension EmulatorRoutes {
    /// The bytes of stored files, at the URLs descriptors name.
    func mediaRoutes() -> RouteCollection<EmulatorRequestContext> {
        let media = RouteCollection(context: EmulatorRequestContext.self)
        media.get("/media/{id}") { _, context in try await serveFile(context.parameters.require("id"), context) }
        media.get("/video/{id}/file") { _, context in try await serveFile(context.parameters.require("id"), context) }
        return media
    }

    /// `/_emulator`: what is stored, request counts, faults, reset, health.
    func adminRoutes() -> RouteCollection<EmulatorRequestContext> {
        let admin = RouteCollection(context: EmulatorRequestContext.self)
        admin.get("health") { _, _ in json(["status": "ok", "files": await store.allFiles().count]) }
        admin.get("files") { _, _ in try await adminFiles() }
        admin.get("requests") { _, _ in json(["requests": counter.snapshot]) }
        admin.get("webhook-public-key") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/x-pem-file"],
                body: .init(byteBuffer: ByteBuffer(string: try await store.webhookKey().publicKey.pemRepresentation)))
        }
        admin.get("faults") { _, _ in try encodedJSON(await faults.settings) }
        admin.post("faults") { request, context in
            let settings = try await request.decode(as: FaultSettings.self, context: context)
            await faults.update(settings)
            return try encodedJSON(settings)
        }
        admin.post("reset") { _, _ in
            try await store.reset()
            counter.reset()
            return Response(status: .noContent)
        }
        return admin
    }

    // MARK: Serving bytes

    func serveFile(_ id: String, _ context: EmulatorRequestContext) async throws -> Response {
        guard let file = await store.file(id), file.blob != nil, file.state == "OK" else { throw HTTPError(.notFound) }
        guard !file.isPrivate else { throw HTTPError(.forbidden, message: "private file") }
        let body = try await FileIO().loadFile(path: store.blobPath(id), context: context)
        return Response(
            status: .ok, headers: [.contentType: file.mimeType, .contentLength: String(file.sizeInBytes)], body: body)
    }

    // MARK: Admin

    /// One stored file as the admin listing shows it.
    struct AdminFile: Encodable {
        var id, displayName, mimeType, mediaType, sizeInBytes, md5, sha256, operationStatus, parentFolderId,
            createdDate, state: String
        var failureReason, sourceUrl, externalOrigin: String?
        var externalIds: [String]?
        var labels: [String]
        var `private`: Bool
        var width, height: Int?
    }

    func adminFiles() async throws -> Response {
        let now = Date()
        let files = await store.allFiles().sorted {
            $0.createdDate == $1.createdDate ? $0.id < $1.id : $0.createdDate < $1.createdDate
        }
        let rows = files.map { file in
            AdminFile(
                id: file.id, displayName: file.displayName, mimeType: file.mimeType, mediaType: file.mediaType,
                sizeInBytes: String(file.sizeInBytes),
                md5: file.hash, sha256: file.sha256, operationStatus: file.operationStatus(at: now),
                parentFolderId: file.parentFolderId,
                createdDate: DescriptorRenderer.date(file.createdDate), state: file.state,
                failureReason: file.failureReason, sourceUrl: file.sourceUrl,
                externalOrigin: file.externalOrigin, externalIds: file.externalIds, labels: file.labels,
                private: file.isPrivate, width: file.width,
                height: file.height)
        }
        struct Listing: Encodable {
            var files: [AdminFile]
            var count: Int
        }
        return try encodedJSON(Listing(files: rows, count: rows.count))
    }

}
