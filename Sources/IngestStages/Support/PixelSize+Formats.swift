import MediaFormats
import MediaIngest

extension PixelSize {
    /// The same size, from a header read.
    public init(_ size: ImageSize) {
        self.init(width: size.width, height: size.height)
    }
}
