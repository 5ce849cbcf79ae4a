import MediaIngest

extension StageRegistry {
    /// A registry holding every built-in stage kind.
    public static var builtins: StageRegistry {
        var registry = StageRegistry()
        registry.registerBuiltins()
        return registry
    }

    /// Registers every built-in stage kind.
    public mutating func registerBuiltins() {
        register(DirectorySource.self)
        register(ListSource.self)
        register(QueueSource.self)
        register(DetectStage.self)
        register(ValidateStage.self)
        register(StripStage.self)
        register(LibraryStage.self)
        register(WixUploadStage.self)
        register(WixAwaitReadyStage.self)
        register(ArchiveStage.self)
        register(WebhookStage.self)
        register(ExecStage.self)
        register(ManifestStage.self)
    }
}
