import Foundation
import MediaIngest

/// Where a target stores a file for people to browse: `{yyyy}/{mm}/{name}`, rendered per asset. The placeholders of
/// ``PathTemplate`` (`yyyy`, `mm`, `dd`, `family`, `ext`, `pipeline`) plus `name` (the file's name at the target),
/// `stem` (that name without its extension) and `sha256` (of the stored bytes, for content addressing). A template
/// without `{name}`, `{stem}` or `{sha256}` is a folder: the name is added.
///
/// Rendered paths stay inside the target: empty, `.` and `..` components and control characters are replaced.
public struct LayoutTemplate: Sendable, Hashable {
    public static let placeholders = PathTemplate.placeholders + ["name", "stem", "sha256"]
    let template: PlaceholderTemplate
    let namesTheFile: Bool
    public let text: String

    public init(_ text: String) throws(PlaceholderTemplate.Problem) {
        template = try PlaceholderTemplate(text, placeholders: Self.placeholders)
        self.text = text
        namesTheFile = template.parts.contains {
            if case .placeholder(let name) = $0 { return ["name", "stem", "sha256"].contains(name) }
            return false
        }
    }

    /// The path below the target's root for `asset`, whose stored bytes have `sha256`.
    public func render(_ asset: Asset, sha256: String, pipeline: String) -> String {
        let name = asset.fileName.presentableFileName
        let stem = (name as NSString).deletingPathExtension
        let shared = PathTemplate.values(asset, pipeline: pipeline)
        var rendered = template.render { placeholder in
            switch placeholder {
            case "name": return name
            case "stem": return stem.isEmpty ? name : stem
            case "sha256": return sha256
            default: return shared(placeholder) ?? ""
            }
        }
        if !namesTheFile { rendered += "/" + name }
        return Self.contained(rendered)
    }

    /// `path` with every component made safe: no empty, `.` or `..` components, no control characters.
    static func contained(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { part -> String in
            let cleaned = String(
                part.unicodeScalars.map { $0.properties.generalCategory == .control ? "_" : Character($0) })
            return cleaned == "." || cleaned == ".." ? "_" : cleaned
        }
        return parts.isEmpty ? "_" : parts.joined(separator: "/")
    }
}
