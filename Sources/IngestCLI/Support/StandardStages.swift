import IngestStages
import MediaIngest
import RemoteStages
import WixStages

extension StageRegistry {
    /// Every stage kind `ingest` ships: ``StageRegistry/builtins`` (IngestStages), the Wix stages (WixStages) and the
    /// rclone stages (RemoteStages). What `ingest` starts from; custom stages are registered on top.
    public static var standard: StageRegistry {
        var registry = StageRegistry.builtins
        registry.registerWixStages()
        registry.registerRemoteStages()
        return registry
    }
}
