import MediaIngest

extension StageRegistry {
    /// Registers the stages in this target. Add one line per stage you write here (`swift package new-stage Name`
    /// adds it for you, above the marker).
    public mutating func registerCustomStages() {
        register(RenameTemplateStage.self)
        register(RouteByTypeStage.self)
        // new-stage: registrations above this line
    }
}
