import MediaIngest

extension StageRegistry {
    /// Registers the stages in this target. Add one line per stage you write here.
    public mutating func registerCustomStages() {
    }
}
