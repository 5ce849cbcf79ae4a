import Foundation
import IngestStages
import MediaIngest

/// `route.by-type`: sends images, videos, documents… to different folders at the target, by detected MIME type.
///
/// ```json
/// { "kind": "route.by-type", "with": { "routes": [
///     { "match": "image/*", "path": "/photos/{yyyy}/{mm}" },
///     { "match": ["video/*", "audio/*"], "folderId": "a1b2c3" },
///     { "match": "application/pdf", "path": "/documents" }
/// ], "otherwise": "pass" } }
/// ```
/// The first route whose pattern matches wins. It sets the asset's ``Placement``, which `upload.wix` uses instead of
/// its own `parentFolderId` / `filePath` (and `upload.library` records as the descriptor's `parentFolderId`). Put it
/// after `detect.mime`: it routes by content, not by file name.
public struct RouteByTypeStage: Stage, StageDefinition {
    public static let kind = "route.by-type"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(noRoute, "no route takes the detected type, and `otherwise` is `reject`"),
        .rejection(.custom, "the detected type is missing (put `detect.mime` before it)"),
    ]
    public static let phase = StagePhase.transform
    public static let summary =
        "Send each detected type (image/*, video/*, application/pdf…) to its own folder at the target."

    /// One route: MIME patterns and where matching files go.
    public struct Route: OptionValue, Hashable {
        /// The patterns (`image/*`, `application/pdf`, or a family name such as `document`).
        public var match: [String]
        /// The target's folder id (Wix `parentFolderId`).
        public var folderID: String?
        /// A folder path (Wix `filePath`, with `{yyyy}`, `{mm}`, `{dd}`, `{family}`, `{ext}`, `{pipeline}`).
        public var path: String?

        public static var optionTypeName: String { "{match, folderId?, path?}" }
        public static var optionSchema: JSONValue {
            [
                "type": "object",
                "required": ["match"],
                "additionalProperties": false,
                "properties": [
                    "match": [
                        "anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"], "minItems": 1]]
                    ],
                    "folderId": ["type": "string", "minLength": 1, "maxLength": 100],
                    "path": ["type": "string", "minLength": 1, "maxLength": 100],
                ],
            ]
        }

        public init(option input: OptionInput) throws {
            guard let members = input.value.objectValue else {
                throw input.typeMismatch(expected: "an object like {\"match\": \"image/*\", \"path\": \"/photos\"}")
            }
            for key in members.keys where !["match", "folderId", "path"].contains(key) {
                throw input.child(members[key]!, at: .key(key)).error(
                    "unknown key \"\(key)\"; a route has match, folderId and path")
            }
            guard let matchValue = members["match"] else { throw input.error("a route needs \"match\"") }
            let matchInput = input.child(matchValue, at: .key("match"))
            let patterns = try [String](option: matchInput)
            if patterns.isEmpty { throw matchInput.error("expected at least one pattern") }
            for (index, pattern) in patterns.enumerated()
            where MediaFamily(rawValue: pattern) == nil && MIMEPattern(pattern) == nil {
                let element =
                    patterns.count == 1 && matchValue.arrayValue == nil
                    ? matchInput : matchInput.child(.string(pattern), at: .index(index))
                throw element.error(
                    "expected a MIME pattern like \"image/*\" or a family (\(MediaFamily.allCases.map(\.rawValue).joined(separator: ", "))), got \"\(pattern)\""
                )
            }
            match = patterns
            if let folder = members["folderId"] {
                let folderInput = input.child(folder, at: .key("folderId"))
                let text = try String(option: folderInput)
                if text.isEmpty || text.count > 100 { throw folderInput.error("expected 1 to 100 characters") }
                folderID = text
            }
            if let pathValue = members["path"] {
                let pathInput = input.child(pathValue, at: .key("path"))
                let text = try String(option: pathInput)
                do {
                    _ = try PathTemplate(text)
                } catch {
                    throw pathInput.error(error.message)
                }
                path = text
            }
            if folderID == nil && path == nil { throw input.error("a route needs \"folderId\", \"path\" or both") }
        }

        public var optionJSON: JSONValue {
            var object: [String: JSONValue] = ["match": .array(match.map { .string($0) })]
            if let folderID { object["folderId"] = .string(folderID) }
            if let path { object["path"] = .string(path) }
            return .object(object)
        }

        /// `true` when the route takes a file of this type.
        func matches(_ type: MediaType) -> Bool {
            match.contains { pattern in
                if let family = MediaFamily(rawValue: pattern) { return type.family == family }
                return MIMEPattern(pattern)?.matches(type.mime) ?? false
            }
        }
    }

    /// What happens to files no route takes.
    public enum Otherwise: String, OptionEnum {
        /// Continue with the upload stage's own folder.
        case pass
        /// Reject the file (`no_route`).
        case reject
    }

    static let routes = StageOption<[Route]>(
        "routes", doc: "Routes tried in order; the first whose match fits the detected type sets the folder.")
    static let otherwise = StageOption<Otherwise>(
        "otherwise", default: .pass, doc: "Files no route takes: keep the upload stage's folder (pass) or reject them.")
    public static let options = [routes.spec, otherwise.spec]

    /// The rejection code for unrouted files when `otherwise` is `reject`.
    public static let noRoute: Rejection.Code = "no_route"

    let routeList: [Route]
    let otherwisePolicy: Otherwise

    public init(options: OptionValues, context: StageBuildContext) throws {
        routeList = try options[Self.routes]
        otherwisePolicy = try options[Self.otherwise]
        if routeList.isEmpty { throw options.error(Self.routes, "expected at least one route") }
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let type = asset.mime else {
            return .reject(
                asset, Rejection(.custom, "route.by-type needs the detected type; put detect.mime before it"))
        }
        guard let index = routeList.firstIndex(where: { $0.matches(type) }) else {
            if otherwisePolicy == .reject {
                return .reject(asset, Rejection(Self.noRoute, "no route takes \(type.mime) (\(asset.displayPath))"))
            }
            return .next(asset)
        }
        let route = routeList[index]
        var asset = asset
        asset.placement = Placement(folderID: route.folderID, path: route.path)
        var fact: [String: JSONValue] = ["route": .int(Int64(index)), "match": .array(route.match.map { .string($0) })]
        if let folder = route.folderID { fact["folderId"] = .string(folder) }
        if let path = route.path { fact["path"] = .string(path) }
        asset.facts["route"] = .object(fact)
        return .next(asset)
    }
}
