import IngestStages
import MediaIngest

extension StageRegistry {
    /// Registers the Wix stage kinds: `upload.wix` and `wix.await-ready`.
    public mutating func registerWixStages() {
        register(WixUploadStage.self)
        register(WixAwaitReadyStage.self)
    }
}
