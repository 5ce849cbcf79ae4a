import MediaFormats
import MediaIngest

/// `example.min-size`: rejects images smaller than a minimum width and height — thumbnails, icons and tracking
/// pixels that should not land in a media library. Other files pass.
///
/// ```json
/// {"kind": "example.min-size", "with": {"minWidth": 200, "minHeight": 200}}
/// ```
public struct MinimumSizeStage: Stage, StageDefinition {
    public static let kind = "example.min-size"
    public static let phase = StagePhase.validate
    public static let summary = "Reject images smaller than minWidth × minHeight (read from the header, no decoding)."

    static let minWidth = StageOption<Int>("minWidth", default: 1, doc: "Smallest accepted width in pixels.")
    static let minHeight = StageOption<Int>("minHeight", default: 1, doc: "Smallest accepted height in pixels.")
    public static let options = [minWidth.spec, minHeight.spec]

    /// The rejection code.
    public static let tooSmall: Rejection.Code = "image_too_small"

    let width: Int
    let height: Int

    public init(options: OptionValues, context: StageBuildContext) throws {
        width = try options[Self.minWidth]
        height = try options[Self.minHeight]
        if width < 1 { throw options.error(Self.minWidth, "expected at least 1, got \(width)") }
        if height < 1 { throw options.error(Self.minHeight, "expected at least 1, got \(height)") }
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard asset.mime?.family == .image, let path = asset.contentPath else { return .next(asset) }
        let size: ImageSize?
        if let known = asset.dimensions {
            size = ImageSize(width: known.width, height: known.height)
        } else {
            size = try? ImageHeaders.dimensions(ofFileAt: path)
        }
        guard let size else { return .next(asset) }
        var asset = asset
        asset.dimensions = PixelSize(width: size.width, height: size.height)
        if size.width < width || size.height < height {
            return .reject(asset, Rejection(Self.tooSmall, "\(size.width)×\(size.height) is smaller than the minimum \(width)×\(height)"))
        }
        return .next(asset)
    }
}
