import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest
import Subprocess
import Synchronization
import SystemPackage

/// The wire format: the asset as the command sees it (stdin JSON, `INGEST_*` variables) and its JSON reply.
extension ExecStage {
    // MARK: Replies

    /// A command's answer.
    struct Reply: Sendable {
        enum Action: Sendable { case `continue`, reject }
        var action: Action = .continue
        var fileName: String?
        var path: String?
        var facts: [String: JSONValue]?
        var placement: Placement?
        var code: String?
        var reason: String?

        struct Problem: Error, Sendable { var message: String }

        static let keys: Set<String> = ["action", "fileName", "path", "facts", "placement", "code", "reason"]

        /// `nil` for empty output (continue unchanged).
        static func parse(_ bytes: [UInt8]) -> Result<Reply?, Problem> {
            do {
                return .success(try parseOrThrow(bytes))
            } catch let problem as Problem {
                return .failure(problem)
            } catch {
                return .failure(Problem(message: "\(error)"))
            }
        }

        static func parseOrThrow(_ bytes: [UInt8]) throws -> Reply? {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { return nil }
            let value: JSONValue
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            } catch {
                throw Problem(
                    message: "standard output is not JSON: \"\(text.prefix(80))\(text.count > 80 ? "…" : "")\"")
            }
            guard let object = value.objectValue else {
                throw Problem(message: "expected a JSON object, got \(value.jsonText(pretty: false).prefix(40))")
            }
            if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
                throw Problem(
                    message: "unknown key \"\(unknown)\" (a reply has \(keys.sorted().joined(separator: ", ")))")
            }
            var reply = Reply()
            switch object["action"] {
            case nil, .some(.string("continue")): reply.action = .continue
            case .some(.string("reject")): reply.action = .reject
            case .some(let other):
                throw Problem(
                    message: "action must be \"continue\" or \"reject\", got \(other.jsonText(pretty: false))")
            }
            func string(_ key: String) throws -> String? {
                guard let member = object[key], member != .null else { return nil }
                guard let text = member.stringValue else { throw Problem(message: "\(key) must be a string") }
                return text
            }
            reply.fileName = try string("fileName")
            reply.path = try string("path")
            reply.code = try string("code")
            reply.reason = try string("reason")
            if let facts = object["facts"], facts != .null {
                guard let members = facts.objectValue else { throw Problem(message: "facts must be an object") }
                reply.facts = members
            }
            if let placement = object["placement"], placement != .null {
                guard let members = placement.objectValue else { throw Problem(message: "placement must be an object") }
                let folder = members["folderId"]?.stringValue
                let path = members["path"]?.stringValue
                if folder == nil && path == nil { throw Problem(message: "placement needs folderId or path") }
                reply.placement = Placement(folderID: folder, path: path)
            }
            if let name = reply.fileName,
                name.isEmpty || name.contains("/") || name.contains("\0") || name == "." || name == ".."
            {
                throw Problem(message: "fileName \"\(name)\" is not a file name")
            }
            if let code = reply.code, code.range(of: #"^[a-z][a-z0-9_]{0,63}$"#, options: .regularExpression) == nil {
                throw Problem(message: "code \"\(code)\" must be lower_snake_case")
            }
            return reply
        }
    }

    func apply(_ reply: Reply?, to asset: Asset, context: StageContext) throws -> StageOutcome {
        guard let reply else { return .next(asset) }
        var asset = asset
        if let facts = reply.facts { asset.facts[context.stageName] = .object(facts) }
        if case .reject = reply.action {
            let reason = reply.reason ?? "rejected by \(displayCommand)"
            return .reject(asset, Rejection(reply.code.map { Rejection.Code(rawValue: $0) } ?? .custom, reason))
        }
        if let name = reply.fileName { asset.fileName = name }
        if let placement = reply.placement { asset.placement = placement }
        if let path = reply.path {
            let resolved = PathResolution.resolve(path, against: directory)
            guard let status = try? FileStatus.of(resolved), status.kind == .regular else {
                return try problem(
                    Self.badReply, "path \(resolved) is not a regular file", asset: asset, context: context)
            }
            asset.contentPath = resolved
            asset.size = status.size
        }
        return .next(asset)
    }

    /// A rejection or a thrown failure, per `onError`.
    func problem(_ code: Rejection.Code, _ message: String, asset: Asset, context: StageContext) throws -> StageOutcome
    {
        let reason = "\(displayCommand): \(message)"
        context.logger.info(
            "exec problem", metadata: ["file": "\(asset.displayPath)", "code": "\(code)", "reason": "\(reason)"])
        switch errorPolicy {
        case .reject: return .reject(asset, Rejection(code, reason))
        case .fail: throw ExecFailure(failureCode: AssetFailure.Code(code.rawValue), failureMessage: reason)
        }
    }

    static func describe(_ stderrTail: String) -> String {
        guard
            let last = stderrTail.split(whereSeparator: \.isNewline).last(where: {
                !$0.trimmingCharacters(in: .whitespaces).isEmpty
            })
        else { return "" }
        return ": " + last.trimmingCharacters(in: .whitespaces).prefix(300)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    // MARK: What the command sees

    /// The asset as the command reads it on standard input.
    static func assetJSON(_ asset: Asset, context: StageContext) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(Int64(asset.id)),
            "fileName": .string(asset.fileName),
            "displayPath": .string(asset.displayPath),
            "pipeline": .string(context.pipeline.pipelineName),
            "runId": .string(context.pipeline.runID),
            "facts": .object(asset.reportedFacts),
        ]
        if let path = asset.contentPath { object["path"] = .string(path) }
        switch asset.origin {
        case .file(let path, let root, let relative):
            object["source"] = ["path": .string(path), "root": .string(root), "relativePath": .string(relative)]
        case .url(let url):
            object["source"] = ["url": .string(url)]
        case .remote(let location, let root, let relative):
            object["source"] = [
                "remote": .string(location), "root": .string(root), "relativePath": .string(relative),
            ]
        }
        if let size = asset.size { object["size"] = .int(size) }
        if let size = asset.sourceSize { object["sourceSize"] = .int(size) }
        if let date = asset.modificationDate { object["modified"] = .string(date.formatted(.iso8601)) }
        if let mime = asset.mime {
            object["mime"] = .string(mime.mime)
            object["family"] = .string(mime.family.rawValue)
            object["extensions"] = .array(mime.extensions.map { .string($0) })
            object["extensionMatches"] = .bool(mime.extensionMatches)
        }
        if let dimensions = asset.dimensions {
            object["dimensions"] = ["width": .int(Int64(dimensions.width)), "height": .int(Int64(dimensions.height))]
        }
        if let sha = asset.sourceSHA256 { object["sha256"] = .string(sha) }
        return .object(object)
    }

    /// The `INGEST_*` variables.
    static func environment(for asset: Asset, context: StageContext) -> [String: String] {
        var environment: [String: String] = [
            "INGEST_ASSET_ID": String(asset.id),
            "INGEST_FILE_NAME": asset.fileName,
            "INGEST_DISPLAY_PATH": asset.displayPath,
            "INGEST_PIPELINE": context.pipeline.pipelineName,
            "INGEST_RUN_ID": context.pipeline.runID,
            "INGEST_WORK_DIR": context.assetWorkDirectory,
        ]
        if let path = asset.contentPath { environment["INGEST_FILE"] = path }
        if let path = asset.origin.path { environment["INGEST_SOURCE"] = path }
        if let url = asset.origin.url { environment["INGEST_URL"] = url }
        if let size = asset.size { environment["INGEST_SIZE"] = String(size) }
        if let mime = asset.mime {
            environment["INGEST_MIME"] = mime.mime
            environment["INGEST_FAMILY"] = mime.family.rawValue
        }
        return environment
    }
}
