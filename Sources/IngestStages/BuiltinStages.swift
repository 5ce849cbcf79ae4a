import MediaIngest

extension StageRegistry {
    /// A registry holding the stage kinds of this module — every built-in kind but the Wix stages, which
    /// `WixStages` adds (`StageRegistry.standard`).
    public static var builtins: StageRegistry {
        var registry = StageRegistry()
        registry.registerBuiltins()
        return registry
    }

    /// Registers the stage kinds of this module.
    public mutating func registerBuiltins() {
        register(DirectorySource.self)
        register(ListSource.self)
        register(QueueSource.self)
        register(DetectStage.self)
        register(ValidateStage.self)
        register(StripStage.self)
        register(LibraryStage.self)
        register(ArchiveStage.self)
        register(WebhookStage.self)
        register(ExecStage.self)
        register(ManifestStage.self)
    }
}
