import IngestStages
import MediaIngest

extension StageRegistry {
    /// A registry holding every built-in stage kind: ``StageRegistry/builtins`` (IngestStages) and the Wix stages.
    /// What `ingest` starts from.
    public static var standard: StageRegistry {
        var registry = StageRegistry.builtins
        registry.registerWixStages()
        return registry
    }

    /// Registers the Wix stage kinds: `upload.wix` and `wix.await-ready`.
    public mutating func registerWixStages() {
        register(WixUploadStage.self)
        register(WixAwaitReadyStage.self)
    }
}
