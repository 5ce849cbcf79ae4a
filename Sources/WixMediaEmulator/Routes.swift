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

/// Background work the request handlers hand off (imports fetch their URL after the response is sent).
enum BackgroundJob: Sendable {
    case importFile(id: String, url: String, headers: [String: String])
}

/// The emulator's request handlers: the Wix paths, the upload endpoints (plain PUT and tus), file serving and the
/// `/_emulator` admin API.
struct EmulatorRoutes: Sendable {
    let configuration: EmulatorConfiguration
    let store: EmulatorStore
    let faults: FaultInjector
    let counter: RequestCounter
    let base: BaseURLBox
    let jobs: AsyncStream<BackgroundJob>.Continuation
    let logger: Logger

    var renderer: DescriptorRenderer { DescriptorRenderer(baseURL: base.url) }

    /// The renderer for file descriptors, with the stricter readings in force now (opaque hash, rendition order).
    func fileRenderer() async -> DescriptorRenderer {
        let settings = await faults.settings
        var renderer = DescriptorRenderer(baseURL: base.url)
        renderer.opaqueHash = settings.opaqueHash
        renderer.smallestRenditionFirst = settings.smallestRenditionFirst
        return renderer
    }

    /// The router: Wix's paths in one route collection per section of the API (files, bulk operations, folders,
    /// uploads, served bytes, OAuth), and the admin API.
    func buildRouter() -> Router<EmulatorRequestContext> {
        let router = Router(context: EmulatorRequestContext.self)
        router.middlewares.add(FaultMiddleware(faults: faults, counter: counter))
        router.middlewares.add(AuthMiddleware(configuration: configuration, store: store))
        router.addRoutes(fileRoutes(), atPath: "/site-media/v1/files")
        router.addRoutes(bulkRoutes(), atPath: "/site-media/v1/bulk")
        router.addRoutes(folderRoutes(), atPath: "/site-media/v1/folders")
        router.addRoutes(uploadRoutes(), atPath: "/upload")
        router.addRoutes(mediaRoutes())
        router.addRoutes(oauthRoutes(), atPath: "/oauth2")
        router.addRoutes(adminRoutes(), atPath: "/_emulator")
        return router
    }

    // MARK: Helpers

    func jsonObject(_ request: Request, _ context: EmulatorRequestContext) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw WixError.invalid(field: "body", "must be a JSON object", rule: "FORMAT")
        }
        return object
    }
}

/// The connection was reset on purpose (fault injection); the response is never sent.
struct ConnectionResetFault: Error {}

/// An import's URL could not be fetched.
struct ImportFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
    let data =
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        ?? Data("{}".utf8)
    return Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func encodedJSON(_ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension FileManager {
    /// Moves `source` to `destination`, replacing what is there (rename(2): atomic within one file system).
    func moveItemReplacing(at source: String, to destination: String) throws {
        guard rename(source, destination) == 0 else {
            throw EmulatorIOError(path: destination, operation: "rename", code: errno)
        }
    }
}
