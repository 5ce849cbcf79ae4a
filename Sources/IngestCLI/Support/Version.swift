/// The version of MediaIngest.
public enum IngestVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
