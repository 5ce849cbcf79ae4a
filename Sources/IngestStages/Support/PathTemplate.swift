import Foundation
import MediaIngest

/// A Wix `filePath` template: `/uploads/{yyyy}/{mm}`. Unknown placeholders are configuration errors.
///
/// `upload.wix` renders its `filePath` option and per-asset ``Placement/path`` values with it; routing stages parse
/// their paths with it when they are built, so a typo is a configuration error rather than a rejected asset.
public struct PathTemplate: Sendable, Hashable {
    /// Why a template does not parse.
    public typealias Problem = PlaceholderTemplate.Problem

    /// The placeholder names a template may use.
    public static let placeholders = ["yyyy", "mm", "dd", "family", "ext", "pipeline"]
    let template: PlaceholderTemplate

    /// Parses a template.
    /// - Throws: ``Problem`` for an unknown placeholder, an unclosed brace or more than 100 characters.
    public init(_ text: String) throws(Problem) {
        template = try PlaceholderTemplate(text, placeholders: Self.placeholders)
        if text.count > 100 { throw Problem(message: "Wix allows at most 100 characters in filePath") }
    }

    /// The folder path for an asset: dates from its modification time (UTC), `{family}` from its detected type.
    public func render(_ asset: Asset, pipeline: String) -> String {
        let values = Self.values(asset, pipeline: pipeline)
        return template.render { values($0) ?? "" }
    }

    /// The value of each of ``placeholders`` for an asset (`nil` for any other name): dates from its modification
    /// time (UTC), `{family}` from its detected type. ``LayoutTemplate`` renders the same values.
    static func values(_ asset: Asset, pipeline: String) -> (String) -> String? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let components = calendar.dateComponents([.year, .month, .day], from: asset.modificationDate ?? Date())
        return { name in
            switch name {
            case "yyyy": return String(format: "%04d", components.year ?? 1970)
            case "mm": return String(format: "%02d", components.month ?? 1)
            case "dd": return String(format: "%02d", components.day ?? 1)
            case "family": return asset.mime?.family.rawValue ?? "other"
            case "ext": return asset.sourceExtension.isEmpty ? "none" : asset.sourceExtension
            case "pipeline": return pipeline
            default: return nil
            }
        }
    }
}
