import MediaIngest

extension StageRegistry {
    /// Registers the stage kinds that reach remote storage through rclone: `source.remote`, `upload.remote`.
    public mutating func registerRemoteStages() {
        register(RemoteSource.self)
        register(RemoteUploadStage.self)
    }
}
