import AsyncHTTPClient
import Foundation
import MediaIngest
import NIOCore
import NIOHTTP1

/// Calls to the run's `rclone rcd` (its rc API, JSON over HTTP on loopback). A call that finds the daemon gone starts
/// it again (``RcloneDaemon``) and is made once more.
public struct RcloneClient: Sendable {
    let daemon: RcloneDaemon
    let http: HTTPClient

    public init(daemon: RcloneDaemon, http: HTTPClient) {
        self.daemon = daemon
        self.http = http
    }

    /// Calls `method` (`operations/list`) with `parameters`; returns rclone's JSON answer.
    /// - Throws: ``RcloneError`` for an answer with an `error`, ``RcloneDaemon/StartError`` when rclone cannot run.
    public func call(_ method: String, _ parameters: [String: JSONValue]) async throws -> JSONValue {
        try await call(method, parameters, as: JSONValue.self)
    }

    /// Calls `method` and decodes the answer as `Answer` (a listing's entries without a JSON tree in between).
    public func call<Answer: Decodable & Sendable>(
        _ method: String, _ parameters: [String: JSONValue], as: Answer.Type
    ) async throws -> Answer {
        try await withDaemon { endpoint in
            var request = HTTPClientRequest(url: endpoint.baseURL + "/" + method)
            request.method = .POST
            request.headers.add(name: "Authorization", value: Self.authorization(endpoint))
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: JSONValue.object(parameters).jsonText(pretty: false)))
            let response = try await http.execute(request, timeout: .hours(1))
            let body = try await response.body.collect(upTo: 512 * 1024 * 1024)
            let data = Data(body.readableBytesView)
            guard response.status == .ok else {
                let json = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .null
                throw RcloneError(
                    method: method, status: Int(response.status.code),
                    message: json["error"]?.stringValue ?? String(decoding: data.prefix(300), as: UTF8.self))
            }
            do {
                return try JSONDecoder().decode(Answer.self, from: data)
            } catch {
                throw RcloneError(method: method, status: 502, message: "unexpected answer: \(error)")
            }
        }
    }

    /// Runs `body` against the daemon; when the connection is refused or reset (the daemon died), starts it again and
    /// runs `body` once more.
    private func withDaemon<T: Sendable>(_ body: (RcloneDaemon.Endpoint) async throws -> T) async throws -> T {
        let endpoint = try await daemon.endpoint()
        do {
            return try await body(endpoint)
        } catch let error where Self.isConnectionLost(error) {
            return try await body(try await daemon.endpoint(replacing: endpoint))
        }
    }

    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is RcloneError || error is FileError || error is CancellationError { return false }
        if let http = error as? HTTPClientError {
            return http == .remoteConnectionClosed || http == .connectTimeout || http == .readTimeout
        }
        // NIO's connect errors (ECONNREFUSED) and resets (ECONNRESET) while reading the body.
        let text = String(describing: error)
        return text.contains("connection refused") || text.contains("Connection refused")
            || text.contains("connectionReset") || text.contains("Connection reset") || text.contains("ECONNREFUSED")
    }

    static func authorization(_ endpoint: RcloneDaemon.Endpoint) -> String {
        "Basic " + Data("\(endpoint.user):\(endpoint.password)".utf8).base64EncodedString()
    }

}

/// rclone answered a call with an error: trouble that may pass (a remote that is down, throttling, an object gone
/// meanwhile), so the asset fails and a later run tries again. The message is rclone's, which names no secret.
public struct RcloneError: Error, CustomStringConvertible, AssetFailureDescribing {
    public var method: String
    public var status: Int
    public var message: String

    public var description: String { "rclone \(method): \(message) (\(status))" }
    /// `source_vanished` when the object is not there any more; else `remote_error`.
    public var failureCode: AssetFailure.Code { isNotFound ? .sourceVanished : "remote_error" }
    public var failureMessage: String { description }

    /// rclone's words for an object or folder that does not exist.
    public var isNotFound: Bool {
        status == 404 || message.contains("object not found") || message.contains("directory not found")
            || message.contains("file does not exist") || message.contains("no such file")
    }
}
